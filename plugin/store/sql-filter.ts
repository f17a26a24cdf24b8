export type SqlValue = string | number;

/** A condition with its parameters, or a falsy value for a filter that was not asked for. */
export type Condition = readonly [sql: string, ...params: SqlValue[]] | false | undefined | '' | 0;

/** `WHERE a AND b` (or nothing) and the parameters in order, from optional filters. */
export function where(conditions: Condition[]): { sql: string; params: SqlValue[] } {
  const used = conditions.filter((c): c is readonly [string, ...SqlValue[]] => Array.isArray(c));
  return {
    sql: used.length ? `WHERE ${used.map((c) => c[0]).join(' AND ')}` : '',
    params: used.flatMap((c) => c.slice(1) as SqlValue[]),
  };
}
