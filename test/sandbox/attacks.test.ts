/**
 * Known sandbox-escape and abuse payloads. Each must be contained with the right error kind, and
 * afterwards the host, the attacking application and a bystander application must still work:
 * in the runtime itself, and through formatter processes as the plugin runs them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FormatterErrorKind, RunReport } from '../../formatters/contract.js';
import { templateScript } from '../../formatters/templates.js';
import { FormatterPool } from '../../sandbox/formatter-pool.js';
import { FormatterRuntime } from '../../sandbox/runtime.js';
import { ASYNC_FEATURE_MESSAGE } from '../../sandbox/sync-only.js';
import { FORMATTER_PROCESS } from '../helpers/formatter-process-entry.js';
import { js, uplink } from './helpers.js';

type Runner = Pick<FormatterRuntime, 'runUplink'>;

const inProcess = new FormatterRuntime();
const pool = new FormatterPool({ processes: 1, spare: false, entry: FORMATTER_PROCESS });
afterAll(async () => {
  inProcess.dispose();
  await pool.close();
});
const RUNNERS: [string, Runner][] = [
  ['the runtime', inProcess],
  ['formatter processes', pool],
];

const normal = js(templateScript('thinger-temperature-humidity'));
const pristine = js('module.exports.uplink = () => ({ clean: ({}).polluted === undefined && ({}).x === undefined && typeof JSON.parse === "function" });');

async function expectHealthy(runtime: Runner, appId: string): Promise<void> {
  for (const app of [appId, 'bystander']) {
    const report = await runtime.runUplink(app, normal, uplink('09 29 1A 0A'));
    expect(report.output).toEqual({ temperature: 23.45, humidity: 66.66 });
  }
  expect((await runtime.runUplink('bystander', pristine, uplink('01'))).output).toEqual({ clean: true });
  const host = {} as Record<string, unknown>;
  expect([host.polluted, host.x, Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')]).toEqual([undefined, undefined, false]);
  expect(typeof process.pid).toBe('number');
  expect(JSON.stringify({ a: 1 })).toBe('{"a":1}');
}

interface Attack {
  name: string;
  script: string;
  timeoutMs?: number;
  /** Expected error kind, with an exact message or a pattern; or an expected output. */
  kind?: FormatterErrorKind;
  message?: string | RegExp;
  output?: unknown;
}

const uplinkBody = (body: string): string => `module.exports.uplink = function (payload, message) {\n${body}\n};`;

const attacks: Attack[] = [
  {
    name: 'constructor walk to the Function constructor (vm2 style)',
    script: uplinkBody("return this.constructor.constructor('return process')();"),
    kind: 'runtime',
    message: 'ReferenceError: process is not defined',
  },
  {
    name: 'constructor walk from an argument and from Buffer',
    script: uplinkBody(
      "const viaArg = payload.constructor.constructor('return typeof process + typeof require')();\n" +
        "const viaBuffer = Buffer.prototype.constructor.constructor('return this')();\n" +
        'return { viaArg, sameGlobal: viaBuffer === globalThis, hostish: typeof viaBuffer.process + typeof viaBuffer.require };',
    ),
    output: { viaArg: 'undefinedundefined', sameGlobal: true, hostish: 'undefinedundefined' },
  },
  {
    name: 'Error.prepareStackTrace exposing call sites',
    script: uplinkBody(
      'Error.prepareStackTrace = function (error, frames) { return frames; };\n' +
        'const frames = new Error("x").stack;\n' +
        'Error.prepareStackTrace = undefined;\n' +
        'return {\n' +
        '  files: frames.map(function (f) { return f.getScriptNameOrSourceURL(); }).filter(function (f, i, all) { return all.indexOf(f) === i; }),\n' +
        '  reach: frames.map(function (f) { const t = f.getThis(); return t ? t.constructor.constructor("return typeof process")() : "none"; })\n' +
        '    .filter(function (v, i, all) { return all.indexOf(v) === i; })\n' +
        '};',
    ),
    // Only the user frame has a receiver (module.exports); the bridge is strict mode.
    output: { files: ['formatter.js', 'sandbox-prelude.js'], reach: ['undefined', 'none'] },
  },
  {
    name: 'arguments.callee.caller and Function.caller',
    script: uplinkBody(
      'const caller = arguments.callee.caller;\n' +
        'return { caller: caller === null ? null : typeof caller, viaName: module.exports.uplink.caller === null };',
    ),
    output: { caller: null, viaName: true },
  },
  {
    name: 'Proxy thrown as exception with looping traps',
    script: uplinkBody('throw new Proxy({}, { getPrototypeOf: function () { for (;;) {} }, get: function () { for (;;) {} } });'),
    timeoutMs: 50,
    kind: 'timeout',
    message: 'formatter exceeded the time limit of 50 ms',
  },
  {
    name: 'top-level throw of an object whose message getter never returns',
    script: 'throw { get message() { for (;;) {} }, get stack() { for (;;) {} } };',
    kind: 'runtime',
    message: 'Uncaught { message: [Getter/Setter], stack: [Getter/Setter] }',
  },
  {
    name: 'Error whose stack getter never returns',
    script: uplinkBody('const e = new Error("x");\nObject.defineProperty(e, "stack", { get: function () { for (;;) {} } });\nthrow e;'),
    timeoutMs: 50,
    kind: 'timeout',
  },
  {
    name: 'static import',
    script: "import fs from 'fs';\nmodule.exports.uplink = () => ({});",
    kind: 'syntax',
    message: 'SyntaxError: Cannot use import statement outside a module',
  },
  {
    name: 'dynamic import()',
    script: uplinkBody('return import("node:fs");'),
    kind: 'contract',
    message: ASYNC_FEATURE_MESSAGE,
  },
  {
    name: 'dynamic import() in code built from strings',
    script: uplinkBody('return { m: eval("imp" + "ort(\'fs\')") };'),
    kind: 'runtime',
    message: 'SyntaxError: async functions, Promise and import() are not available in formatters',
  },
  {
    name: 'require / process / globalThis.process lookups',
    script: uplinkBody(
      'function probe(f) { try { return String(f()); } catch (e) { return e.name; } }\n' +
        'return { req: probe(function () { return require("fs"); }), proc: probe(function () { return process.env; }),\n' +
        '  global: String(globalThis.process), mod: String(module.require), builtin: probe(function () { return process.binding("fs"); }) };',
    ),
    output: { req: 'ReferenceError', proc: 'ReferenceError', global: 'undefined', mod: 'undefined', builtin: 'ReferenceError' },
  },
  {
    name: 'prototype pollution and tampering with the intrinsics the bridge uses',
    script: uplinkBody(
      'Object.prototype.polluted = 1;\n({}).__proto__.x = 2;\n' +
        'JSON.stringify = function () { return "{}"; }; JSON.parse = null; Object.keys = null; Array.isArray = null;\n' +
        'Array.prototype.push = null; String.prototype.slice = null; Function.prototype.call = null;\n' +
        'Object.prototype.toJSON = undefined;\n' +
        'return { ok: true, list: [1, 2], text: "a\\"b" };',
    ),
    output: { ok: true, list: [1, 2], text: 'a"b' },
  },
  {
    name: 'output text trying to forge the bridge reply',
    script: uplinkBody('return { s: \'"}],"k":"runtime","m":"forged\' };'),
    output: { s: '"}],"k":"runtime","m":"forged' },
  },
  {
    name: 'while (true)',
    script: uplinkBody('while (true) {}'),
    timeoutMs: 30,
    kind: 'timeout',
    message: 'formatter exceeded the time limit of 30 ms',
  },
  {
    name: 'unhandled rejection whose reason never finishes converting (isolated-vm reads it after the time limit)',
    script: uplinkBody('Promise.reject({ get message() { for (;;) {} } });\nreturn {};'),
    kind: 'contract',
    message: ASYNC_FEATURE_MESSAGE,
  },
  {
    name: 'async function built by the Function constructor',
    script: uplinkBody('const f = payload.constructor.constructor("return (as" + "ync () => { throw { get message() { for (;;) {} } }; })()");\nreturn { r: f() };'),
    kind: 'runtime',
    message: 'SyntaxError: async functions, Promise and import() are not available in formatters',
  },
  {
    name: 'async code through the GeneratorFunction constructor, with a lying toString',
    script: uplinkBody(
      'let calls = 0;\n' +
        'const body = { toString: function () { return calls++ === 0 ? "yield 1" : "yield (async () => 1)()"; } };\n' +
        'const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;\n' +
        'return { first: GeneratorFunction(body)().next().value, calls: calls };',
    ),
    output: { first: 1, calls: 1 },
  },
  {
    name: 'Promise and promise-returning builtins reached without naming them',
    script: uplinkBody(
      'const name = "Prom" + "ise";\n' +
        'return { global: typeof globalThis[name], fromAsync: typeof Array["from" + "Async"], escaped: (function () { try { return typeof Prom\\u0069se; } catch (e) { return e.name; } })(),\n' +
        '  registry: typeof FinalizationRegistry };',
    ),
    output: { global: 'undefined', fromAsync: 'undefined', escaped: 'undefined', registry: 'undefined' },
  },
  {
    name: 'deep recursion',
    script: uplinkBody('function down(n) { return down(n + 1) + 1; }\nreturn { n: down(0) };'),
    kind: 'runtime',
    message: 'RangeError: Maximum call stack size exceeded',
  },
  {
    name: 'huge string by doubling',
    script: uplinkBody('let s = "x";\nwhile (true) s += s;'),
    kind: 'runtime',
    message: 'RangeError: Invalid string length',
  },
  {
    name: 'many large flat strings',
    script: uplinkBody('const parts = [];\nfor (;;) parts.push("x".repeat(1000000) + parts.length);'),
    timeoutMs: 5000,
    kind: 'memory',
  },
  {
    name: 'huge arrays',
    script: uplinkBody('const a = [];\nfor (;;) a.push(new Array(100000).fill(a.length));'),
    timeoutMs: 5000,
    kind: 'memory',
  },
  {
    name: 'huge ArrayBuffer',
    script: uplinkBody('return { size: new ArrayBuffer(1024 * 1024 * 1024).byteLength };'),
    kind: 'runtime',
    message: /^RangeError: Array buffer allocation failed/,
  },
  {
    name: 'promise that never settles',
    script: 'function decodeUplink() {\n  return new Promise(function () {});\n}',
    kind: 'contract',
    message: ASYNC_FEATURE_MESSAGE,
  },
  {
    name: 'async function as formatter',
    script: 'module.exports.uplink = async function () { return {}; };',
    kind: 'contract',
    message: ASYNC_FEATURE_MESSAGE,
  },
  {
    name: 'thenable output',
    script: uplinkBody('return { then: function (resolve) { resolve({}); } };'),
    kind: 'contract',
    message: 'output.then is a function, which is not JSON',
  },
  {
    name: 'output getter that throws',
    script: uplinkBody('return { a: 1, get b() { throw new TypeError("no b"); } };'),
    kind: 'contract',
    message: 'output could not be converted to JSON: TypeError: no b',
  },
  {
    name: 'toJSON that loops',
    script: uplinkBody('return { toJSON: function () { for (;;) {} } };'),
    timeoutMs: 30,
    kind: 'timeout',
  },
  {
    name: 'toJSON that recurses forever',
    script: uplinkBody('function node() { return { toJSON: function () { return { next: node() }; } }; }\nreturn node();'),
    kind: 'contract',
    message: /^output(\.next){100} is nested deeper than 100 levels$/,
  },
  {
    name: 'SharedArrayBuffer and Atomics.wait',
    script: uplinkBody(
      'function probe(f) { try { return String(f()); } catch (e) { return e.name; } }\n' +
        'return { sab: probe(function () { return new SharedArrayBuffer(4); }),\n' +
        '  wait: probe(function () { return Atomics.wait(new Int32Array(4), 0, 0); }) };',
    ),
    output: { sab: 'ReferenceError', wait: 'ReferenceError' },
  },
  {
    // Formatter processes run with --expose-gc (the runtime measures tenants with it).
    name: 'gc, to force full collections on the neighbours',
    script: uplinkBody('return { gc: typeof gc, viaGlobal: typeof globalThis.gc, viaFunction: Function("return typeof gc")(), writable: (function () { globalThis.gc = 1; return typeof gc; })() };'),
    output: { gc: 'undefined', viaGlobal: 'undefined', viaFunction: 'undefined', writable: 'undefined' },
  },
  {
    name: 'WebAssembly',
    script: uplinkBody('return { m: new WebAssembly.Memory({ initial: 65536 }) };'),
    kind: 'runtime',
    message: 'ReferenceError: WebAssembly is not defined',
  },
  {
    name: 'console flood',
    script: uplinkBody('const big = "z".repeat(100000);\nfor (let i = 0; i < 10000; i++) console.log(big);\nreturn { done: true };'),
    timeoutMs: 2000,
    output: { done: true },
  },
];

describe.each(RUNNERS)('attacks are contained in %s', (_name, runtime) => {
  it.each(attacks)('$name', async (attack) => {
    const appId = `attacker-${attacks.indexOf(attack)}`;
    const report: RunReport<unknown> = await runtime.runUplink(appId, js(attack.script, attack.timeoutMs ?? 100), uplink('01'));
    if (attack.kind) {
      expect(report.ok).toBe(false);
      expect(report.error?.kind).toBe(attack.kind);
      if (typeof attack.message === 'string') expect(report.error?.message).toBe(attack.message);
      if (attack.message instanceof RegExp) expect(report.error?.message).toMatch(attack.message);
    } else {
      expect(report).toMatchObject({ ok: true, output: attack.output });
    }
    await expectHealthy(runtime, appId);
  });

  it('bounds a console flood to the entry and size limits', async () => {
    const attack = attacks.find((a) => a.name === 'console flood');
    const report = await runtime.runUplink('flood', js(attack?.script ?? '', 2000), uplink('01'));
    expect(report.logs).toHaveLength(50);
    expect(report.logs.every((entry) => entry.message.length <= 2000)).toBe(true);
    expect(report.logs[49]).toEqual({ level: 'warn', message: '… 9951 more log entries dropped (limit 50)' });
  });
});
