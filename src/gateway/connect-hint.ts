// How a person reaches the gateway with libiscsi's tools (Debian libiscsi-bin).
import { isIPv6 } from 'node:net';
import type { TargetAuth } from '../iscsi/target-definition.ts';

/** A portal an initiator on this machine can dial: wildcard listens are reached on loopback. */
export function portalFor(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${isIPv6(reachable) ? `[${reachable}]` : reachable}:${port}`;
}

function credentials(auth: TargetAuth | undefined): string {
  return auth?.chap ? `${encodeURIComponent(auth.chap.user)}%<secret>@` : '';
}

/** Commands to list the targets and to inquire one LUN. */
export function connectCommands(
  portal: string,
  options: { discoveryAuth?: TargetAuth; target?: { name: string; auth?: TargetAuth } },
): string[] {
  const commands = [`iscsi-ls -s iscsi://${credentials(options.discoveryAuth)}${portal}`];
  if (options.target) commands.push(`iscsi-inq iscsi://${credentials(options.target.auth)}${portal}/${options.target.name}/0`);
  return commands;
}
