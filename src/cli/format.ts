// Text for people: aligned tables and sizes rounded for reading.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** "2.5TiB", "117.7MiB", "0B": one decimal at most. */
export function humanSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${rounded}${UNITS[unit]}`;
}

/** Columns padded to their widest cell, two spaces apart; a header row first. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return `${[headers, ...rows].map(line).join('\n')}\n`;
}

/** Label/value lines with the values aligned. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return `${pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`;
}

/** "12.3 MB/s", "850 kB/s", "0 B/s": decimal units, as transfer rates are quoted. */
export function humanRate(bytesPerSecond: number): string {
  return `${decimal(bytesPerSecond, ['B', 'kB', 'MB', 'GB'])}/s`;
}

/** "100 Mbit/s": upload limits are set in bits per second. */
export function humanBitRate(bitsPerSecond: number): string {
  return `${decimal(bitsPerSecond, ['bit', 'kbit', 'Mbit', 'Gbit'])}/s`;
}

function decimal(value: number, units: readonly string[]): string {
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const rounded = value >= 100 || unit === 0 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${rounded} ${units[unit]}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A bandwidth interval's days and times: "Mon-Fri 08:00-18:00", "Sun, Sat 00:00-24:00". */
export function humanWeeklyInterval(interval: {
  readonly daysOfWeek: readonly number[];
  readonly startMinute: number;
  readonly endMinute: number;
}): string {
  const days = [...interval.daysOfWeek].sort((a, b) => a - b);
  const consecutive = days.length > 2 && days.every((day, i) => i === 0 || day === days[i - 1]! + 1);
  const dayText = consecutive ? `${DAYS[days[0]!]}-${DAYS[days.at(-1)!]}` : days.map((day) => DAYS[day]).join(', ');
  const time = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  return `${dayText} ${time(interval.startMinute)}-${time(interval.endMinute)}`;
}

/** An interval between scheduled snapshots: 86400 → "24h", 5400 → "90m", 604800 → "7d". */
export function humanInterval(seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 7 * 86400) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
