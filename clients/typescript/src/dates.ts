// Calendar days on the wire: whole days since 1970-01-01 in Bars.dates and
// Series dates, "YYYY-MM-DD" strings in requests and ListSymbols.

const MS_PER_DAY = 86_400_000;

/** A calendar day: a `Date` (its UTC date is used) or a "YYYY-MM-DD" string, sent as given. */
export type DateLike = Date | string;

/** The day `days` after 1970-01-01, as a `Date` at midnight UTC. */
export function dateFromEpochDay(days: number): Date {
  return new Date(days * MS_PER_DAY);
}

/** The number of days from 1970-01-01 to the UTC date of `date`. */
export function epochDay(date: Date): number {
  return Math.floor(date.getTime() / MS_PER_DAY);
}

/** The "YYYY-MM-DD" form of the UTC date of `date`. */
export function formatDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** A "YYYY-MM-DD" calendar date as a `Date` at midnight UTC; throws a RangeError for anything else. */
export function parseDate(text: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const date = new Date(`${text}T00:00:00Z`);
  if (match === null || Number.isNaN(date.getTime()) || formatDate(date) !== text) {
    throw new RangeError(`not a calendar date in YYYY-MM-DD form: ${JSON.stringify(text)}`);
  }
  return date;
}

/** The wire form of a date field: "YYYY-MM-DD", or "" for no bound. */
export function dateField(value: DateLike | undefined): string {
  if (value === undefined) {
    return "";
  }
  return typeof value === "string" ? value : formatDate(value);
}
