// The part of a Vault Lock policy this endpoint enforces: statements that Deny
// glacier:DeleteArchive (or glacier:*), unconditionally or while the archive is
// younger than NumericLessThan(Equals) "glacier:ArchiveAgeInDays". A policy with
// any other Deny condition is refused when the lock is initiated, so that no
// policy is stored that would silently not be enforced. Allow statements and
// principals are not evaluated: the endpoint has one account and one user.
import { invalid } from './errors.ts';

interface Rule {
  /** Archives younger than this many days may not be deleted; Infinity: none may. */
  minAgeDays: number;
  inclusive: boolean;
}

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The deletion rules of a policy document; throws InvalidParameterValueException for what it cannot enforce. */
export function deletionRules(policy: string): Rule[] {
  let document: { Statement?: unknown };
  try {
    document = JSON.parse(policy) as { Statement?: unknown };
  } catch {
    throw invalid('Policy is not valid JSON');
  }
  const statements = Array.isArray(document?.Statement) ? (document.Statement as Statement[]) : [document?.Statement as Statement];
  const rules: Rule[] = [];
  for (const statement of statements) {
    if (!statement || typeof statement !== 'object') throw invalid('Policy has no Statement');
    const actions = ([] as unknown[]).concat(statement.Action);
    if (statement.Effect !== 'Deny' || !actions.some((a) => a === 'glacier:DeleteArchive' || a === 'glacier:*')) continue;
    const conditions = Object.entries(statement.Condition ?? {});
    if (conditions.length === 0) {
      rules.push({ minAgeDays: Infinity, inclusive: false });
      continue;
    }
    for (const [operator, keys] of conditions) {
      const days = Number(keys?.['glacier:ArchiveAgeInDays']);
      if (
        (operator !== 'NumericLessThan' && operator !== 'NumericLessThanEquals') ||
        Object.keys(keys ?? {}).length !== 1 ||
        !(days >= 0)
      ) {
        throw invalid(
          `Unsupported vault lock condition ${operator}: only NumericLessThan(Equals) on glacier:ArchiveAgeInDays is enforced here`,
        );
      }
      rules.push({ minAgeDays: days, inclusive: operator === 'NumericLessThanEquals' });
    }
  }
  return rules;
}

/** Whether the policy denies deleting an archive created at `creationDate`. */
export function deletionDenied(policy: string, creationDate: string, now = Date.now()): boolean {
  const age = Math.floor((now - Date.parse(creationDate)) / 86_400_000);
  return deletionRules(policy).some((r) => (r.inclusive ? age <= r.minAgeDays : age < r.minAgeDays));
}
