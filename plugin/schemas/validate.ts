import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';
import type { Static, TSchema } from '@sinclair/typebox';
import { DomainError } from '../domain-error.js';

/** One Ajv for the process: validators are compiled once, at import time of their schema module. */
// ajv-formats is CommonJS with a default export; under NodeNext the plugin sits on `.default`.
const addFormats = formatsPlugin as unknown as typeof formatsPlugin.default;

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: false, strict: false });
addFormats(ajv);

const queryAjv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });
addFormats(queryAjv);

export interface Validator<S extends TSchema> {
  schema: S;
  /** Validates (applying defaults in place) and returns the typed value, or throws a 400. */
  parse(value: unknown): Static<S>;
  /** Non-throwing check, for callers that want the errors. */
  check(value: unknown): { ok: true; value: Static<S> } | { ok: false; errors: ValidationIssue[] };
}

export interface ValidationIssue {
  path: string;
  message: string;
}

function issues(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  return (errors ?? []).map((e) => ({
    path: e.instancePath || '/',
    message:
      e.keyword === 'additionalProperties'
        ? `unknown property '${String((e.params as { additionalProperty: string }).additionalProperty)}'`
        : (e.message ?? 'invalid'),
  }));
}

function build<S extends TSchema>(fn: ValidateFunction, schema: S, code: string): Validator<S> {
  const check = (value: unknown): ReturnType<Validator<S>['check']> =>
    fn(value) ? { ok: true, value: value as Static<S> } : { ok: false, errors: issues(fn.errors) };
  return {
    schema,
    check,
    parse(value) {
      const result = check(value);
      if (!result.ok) {
        const first = result.errors[0];
        throw new DomainError('invalid', code, `${first.path} ${first.message}`, { errors: result.errors });
      }
      return result.value;
    },
  };
}

/** A validator for JSON bodies: no type coercion. */
export function bodyValidator<S extends TSchema>(schema: S, code = 'invalid_body'): Validator<S> {
  return build(ajv.compile(schema), schema, code);
}

/** A validator for query strings: numbers and booleans are coerced from their text. */
export function queryValidator<S extends TSchema>(schema: S): Validator<S> {
  return build(queryAjv.compile(schema), schema, 'invalid_query');
}
