// Reservation state of one logical unit: the classic RESERVE(6) holder and
// persistent reservations (SPC-4 5.12), and whether a command conflicts with them.
import type { Nexus } from './types.ts';

/**
 * Whether a command may run while another I_T nexus holds a reservation
 * (true = allowed). `classic` is RESERVE(6) (SPC-2 5.5.1); the other two are the
 * columns of SPC-4 table 5.12.1 for a persistent reservation of that family
 * seen from an I_T nexus that is not a reservation holder.
 */
export interface ReservationAccess {
  readonly classic: boolean;
  readonly writeExclusive: boolean;
  readonly exclusiveAccess: boolean;
}

export enum PrType {
  WriteExclusive = 0x1,
  ExclusiveAccess = 0x3,
  WriteExclusiveRegistrantsOnly = 0x5,
  ExclusiveAccessRegistrantsOnly = 0x6,
  WriteExclusiveAllRegistrants = 0x7,
  ExclusiveAccessAllRegistrants = 0x8,
}

export const isPrType = (t: number): t is PrType => t in PrType && typeof PrType[t] === 'string';

const isAllRegistrants = (t: PrType): boolean => t === PrType.WriteExclusiveAllRegistrants || t === PrType.ExclusiveAccessAllRegistrants;
const isRegistrantsType = (t: PrType): boolean => t >= PrType.WriteExclusiveRegistrantsOnly;
const isWriteExclusiveFamily = (t: PrType): boolean =>
  t === PrType.WriteExclusive || t === PrType.WriteExclusiveRegistrantsOnly || t === PrType.WriteExclusiveAllRegistrants;

export interface Registration {
  readonly nexus: Nexus;
  key: bigint;
}

export interface PersistentReservation {
  /** The holder; for all-registrants types every registrant holds it and this is the one that reserved. */
  readonly holder: Nexus;
  readonly type: PrType;
}

export class Reservations {
  classicHolder: string | undefined;
  /** Registrations per I_T nexus key, in registration order. */
  readonly registrations = new Map<string, Registration>();
  reservation: PersistentReservation | undefined;
  /** PRGENERATION, 32-bit wrapping. */
  generation = 0;

  bumpGeneration(): void {
    this.generation = (this.generation + 1) >>> 0;
  }

  isHolder(nexusKey: string): boolean {
    const r = this.reservation;
    if (!r) return false;
    return isAllRegistrants(r.type) ? this.registrations.has(nexusKey) : r.holder.key === nexusKey;
  }

  /** The reservation key READ RESERVATION reports: 0 for all-registrants types. */
  reservationKey(): bigint {
    const r = this.reservation;
    if (!r || isAllRegistrants(r.type)) return 0n;
    return this.registrations.get(r.holder.key)?.key ?? 0n;
  }

  isAllRegistrants(): boolean {
    return this.reservation !== undefined && isAllRegistrants(this.reservation.type);
  }

  /** Whether the reservation type is one released with RESERVATIONS RELEASED to registrants (SPC-4 5.12.11.2). */
  notifiesRegistrantsOnRelease(): boolean {
    return this.reservation !== undefined && isRegistrantsType(this.reservation.type);
  }

  conflicts(nexusKey: string, access: ReservationAccess): boolean {
    if (this.classicHolder !== undefined && this.classicHolder !== nexusKey && !access.classic) return true;
    const r = this.reservation;
    if (!r || this.isHolder(nexusKey)) return false;
    if (isRegistrantsType(r.type) && this.registrations.has(nexusKey)) return false;
    return isWriteExclusiveFamily(r.type) ? !access.writeExclusive : !access.exclusiveAccess;
  }

  /** Drops a registration; a holder losing it releases the reservation (unless others still hold an all-registrants one). */
  unregister(nexusKey: string): void {
    this.registrations.delete(nexusKey);
    const r = this.reservation;
    if (!r) return;
    if (isAllRegistrants(r.type) ? this.registrations.size === 0 : r.holder.key === nexusKey) this.reservation = undefined;
  }
}
