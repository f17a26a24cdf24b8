// @ts-check
/*
 * The in-isolate prelude (../prelude.ts reads this file, and compiles it for each isolate): one
 * function expression, run once in every fresh context before any user code as
 *   (<this file>)(globalThis, LIMITS, CAPTURE_SUFFIX, bufferExports)
 * It defines the globals formatters see, locks down everything else, and returns the bridge, whose
 * operations are named in ../bridge.ts. Keep the file one parenthesized function expression with
 * nothing after its closing `})`.
 */
(
/**
 * @param {{ eval(code: string): unknown; [name: string]: unknown }} global the context's globalThis
 * @param {import('../prelude.js').PreludeLimits} LIMITS
 * @param {string} CAPTURE_SUFFIX appended to the user script by load (see prelude.ts)
 * @param {{ Buffer: { isBuffer(value: unknown): boolean } }} bufferExports the `buffer` package's exports (buffer-bundle.ts)
 * @returns {import('../bridge.js').Bridge}
 */
function (global, LIMITS, CAPTURE_SUFFIX, bufferExports) {
  'use strict';

  /**
   * @typedef {Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
   *   | Float32Array | Float64Array | BigInt64Array | BigUint64Array} TypedArray
   * @typedef {(...args: any[]) => unknown} UserFunction A function of the user script.
   * @typedef {'thinger' | 'tts' | 'legacy'} ScriptStyle
   */

  // Intrinsics captured before user code runs: vendor codecs often install polyfills or change
  // prototypes, and the bridge must keep working the same way whatever they do.
  const JSONStringify = JSON.stringify;
  const JSONParse = JSON.parse;
  const ObjectKeys = Object.keys;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const hasOwn = Object.hasOwn;
  const defineProperty = Object.defineProperty;
  const isArray = Array.isArray;
  const isView = /** @type {(value: unknown) => value is DataView | TypedArray} */ (ArrayBuffer.isView);
  const ArrayBufferCtor = ArrayBuffer;
  const DataViewCtor = DataView;
  const DateCtor = Date;
  const ErrorCtor = Error;
  const StringCtor = String;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const Uint8ArrayCtor = Uint8Array;
  const fromCharCode = String.fromCharCode;
  const indirectEval = global.eval;
  const isBuffer = bufferExports.Buffer.isBuffer;
  /**
   * A method as a plain function of its receiver, immune to later changes of Function.prototype.call.
   * @template T
   * @template {unknown[]} A
   * @template R
   * @param {(this: T, ...args: A) => R} fn
   * @returns {(self: T, ...args: A) => R}
   */
  const uncurry = (fn) => Function.prototype.call.bind(fn);
  const callFunction = uncurry(Function.prototype.call);
  const stringSlice = uncurry(String.prototype.slice);
  const charCodeAt = uncurry(String.prototype.charCodeAt);
  const stringIncludes = uncurry(String.prototype.includes);
  const stringIndexOf = uncurry(String.prototype.indexOf);
  const toLowerCase = uncurry(String.prototype.toLowerCase);
  const trim = uncurry(String.prototype.trim);
  const functionSource = uncurry(Function.prototype.toString);
  const errorToString = uncurry(Error.prototype.toString);
  const symbolToString = uncurry(Symbol.prototype.toString);
  const dateGetTime = uncurry(Date.prototype.getTime);
  const dateToISOString = uncurry(Date.prototype.toISOString);

  // --- lockdown -----------------------------------------------------------------------------------
  // Only these globals stay (plus the ones defined below). Gone, among others: Promise and every
  // promise source (see sync-only.ts for why), SharedArrayBuffer/Atomics (Atomics.wait could block
  // the host thread), WebAssembly (reservations outside the heap limit), FinalizationRegistry
  // (callbacks outside any call), and whatever a newer V8 adds before it has been reviewed.
  const SAFE_GLOBALS = new Set([
    'Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'BigInt', 'Date', 'RegExp', 'Math', 'JSON',
    'Reflect', 'Proxy', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'Intl', 'Iterator', 'globalThis',
    'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError',
    'ArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
    'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'NaN', 'Infinity', 'undefined', 'eval',
    'encodeURI', 'encodeURIComponent', 'decodeURI', 'decodeURIComponent', 'escape', 'unescape',
  ]);
  for (const name of Reflect.ownKeys(global)) {
    if (typeof name === 'string' && SAFE_GLOBALS.has(name)) continue;
    // What cannot be deleted (gc, in formatter processes run with --expose-gc) is emptied for good.
    if (!Reflect.deleteProperty(global, name)) Reflect.defineProperty(global, name, { value: undefined, writable: false });
  }
  delete /** @type {any} */ (Array).fromAsync;

  // Code built from strings could bring async functions or import() back: eval and the function
  // constructors screen their source (a regex, so a word in a string or comment also refuses).
  const ASYNC_WORDS = /\b(?:async|import|Promise)\b/;
  const regexpExec = uncurry(RegExp.prototype.exec);
  const reflectConstruct = Reflect.construct;
  const SyntaxErrorCtor = SyntaxError;
  /** @param {string} text */
  function screen(text) {
    if (regexpExec(ASYNC_WORDS, text) !== null) {
      throw new SyntaxErrorCtor('async functions, Promise and import() are not available in formatters');
    }
  }
  /**
   * @param {Function} intrinsic
   * @returns {Function}
   */
  function screenedConstructor(intrinsic) {
    /** @param {...unknown} args */
    const screened = function (...args) {
      // Converted once: a toString could otherwise answer differently to the screen and to V8.
      const strings = [];
      let text = '';
      for (let i = 0; i < args.length; i++) {
        strings[i] = StringCtor(args[i]);
        text += strings[i] + '\n';
      }
      screen(text);
      return reflectConstruct(intrinsic, strings, new.target === undefined ? intrinsic : new.target);
    };
    defineProperty(screened, 'name', { value: intrinsic.name });
    defineProperty(screened, 'prototype', { value: intrinsic.prototype });
    defineProperty(intrinsic.prototype, 'constructor', { value: screened, writable: true, configurable: true });
    return screened;
  }
  /** @param {unknown} code */
  const screenedEval = function (code) {
    if (typeof code !== 'string') return code;
    screen(code);
    return indirectEval(code);
  };
  defineProperty(screenedEval, 'name', { value: 'eval' });
  defineProperty(global, 'eval', { value: screenedEval, writable: true, configurable: true });
  defineProperty(global, 'Function', { value: screenedConstructor(Function), writable: true, configurable: true });
  screenedConstructor(Object.getPrototypeOf(function* () {}).constructor);

  // --- base64 -----------------------------------------------------------------------------------
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const LOOKUP = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) LOOKUP[charCodeAt(ALPHABET, i)] = i;

  /**
   * Host-encoded (canonical) base64 to a plain array of bytes, as TTS passes them.
   * @param {string} text
   */
  function base64Bytes(text) {
    /** @type {number[]} */
    const out = [];
    let acc = 0;
    let bits = 0;
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const value = LOOKUP[charCodeAt(text, i) & 255];
      if (value < 0) break;
      acc = ((acc << 6) | value) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[n++] = (acc >> bits) & 255;
      }
    }
    return out;
  }

  /** @param {string} message */
  function invalidCharacter(message) {
    const err = new ErrorCtor(message);
    err.name = 'InvalidCharacterError';
    return err;
  }

  /**
   * HTML "forgiving base64" decode.
   * @param {unknown} data
   */
  function atob(data) {
    if (arguments.length === 0) throw new TypeErrorCtor("atob requires 1 argument");
    const input = StringCtor(data);
    let text = '';
    for (let i = 0; i < input.length; i++) {
      const c = charCodeAt(input, i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d) text += input[i];
    }
    if (text.length % 4 === 0) {
      if (text[text.length - 1] === '=') text = stringSlice(text, 0, text[text.length - 2] === '=' ? -2 : -1);
    }
    if (text.length % 4 === 1) throw invalidCharacter('The string to be decoded is not correctly encoded.');
    let out = '';
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < text.length; i++) {
      const c = charCodeAt(text, i);
      const value = c < 256 ? LOOKUP[c] : -1;
      if (value < 0) throw invalidCharacter('The string to be decoded is not correctly encoded.');
      acc = ((acc << 6) | value) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += fromCharCode((acc >> bits) & 255);
      }
    }
    return out;
  }

  /** @param {unknown} data */
  function btoa(data) {
    if (arguments.length === 0) throw new TypeErrorCtor("btoa requires 1 argument");
    const input = StringCtor(data);
    let out = '';
    for (let i = 0; i < input.length; i += 3) {
      const a = charCodeAt(input, i);
      const b = i + 1 < input.length ? charCodeAt(input, i + 1) : 0;
      const c = i + 2 < input.length ? charCodeAt(input, i + 2) : 0;
      if (a > 255 || b > 255 || c > 255) throw invalidCharacter('Invalid character');
      const triple = (a << 16) | (b << 8) | c;
      out += ALPHABET[triple >> 18] + ALPHABET[(triple >> 12) & 63];
      out += i + 1 < input.length ? ALPHABET[(triple >> 6) & 63] : '=';
      out += i + 2 < input.length ? ALPHABET[triple & 63] : '=';
    }
    return out;
  }

  // --- TextEncoder / TextDecoder (UTF-8 only, no streaming) ---------------------------------------
  class TextEncoder {
    get encoding() {
      return 'utf-8';
    }
    /** @param {unknown} [input] */
    encode(input = '') {
      const text = StringCtor(input);
      /** @type {number[]} */
      const bytes = [];
      let n = 0;
      for (let i = 0; i < text.length; i++) {
        let c = charCodeAt(text, i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
          const d = charCodeAt(text, i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
          }
        }
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        if (c < 0x80) {
          bytes[n++] = c;
        } else if (c < 0x800) {
          bytes[n++] = 0xc0 | (c >> 6);
          bytes[n++] = 0x80 | (c & 63);
        } else if (c < 0x10000) {
          bytes[n++] = 0xe0 | (c >> 12);
          bytes[n++] = 0x80 | ((c >> 6) & 63);
          bytes[n++] = 0x80 | (c & 63);
        } else {
          bytes[n++] = 0xf0 | (c >> 18);
          bytes[n++] = 0x80 | ((c >> 12) & 63);
          bytes[n++] = 0x80 | ((c >> 6) & 63);
          bytes[n++] = 0x80 | (c & 63);
        }
      }
      return new Uint8ArrayCtor(bytes);
    }
  }

  class TextDecoder {
    /** @type {boolean} */
    #fatal;
    /** @type {boolean} */
    #ignoreBOM;
    /**
     * @param {unknown} [label]
     * @param {{ fatal?: unknown, ignoreBOM?: unknown }} [options]
     */
    constructor(label = 'utf-8', options = undefined) {
      const name = toLowerCase(trim(StringCtor(label)));
      if (name !== 'utf-8' && name !== 'utf8' && name !== 'unicode-1-1-utf-8') {
        throw new RangeErrorCtor('The "' + label + '" encoding is not supported (UTF-8 only)');
      }
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() {
      return 'utf-8';
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    /**
     * WHATWG UTF-8 decoder: each maximal invalid subpart becomes one U+FFFD.
     * @param {unknown} [input]
     */
    decode(input = undefined) {
      let bytes;
      if (input === undefined) bytes = new Uint8ArrayCtor(0);
      else if (input instanceof ArrayBufferCtor) bytes = new Uint8ArrayCtor(input);
      else if (isView(input)) bytes = new Uint8ArrayCtor(input.buffer, input.byteOffset, input.byteLength);
      else throw new TypeErrorCtor('The "input" argument must be an ArrayBuffer or ArrayBufferView');
      const fatal = this.#fatal;
      let out = '';
      let codePoint = 0;
      let needed = 0;
      let seen = 0;
      let lower = 0x80;
      let upper = 0xbf;
      /** @param {number} c */
      const emit = (c) => {
        if (c > 0xffff) {
          c -= 0x10000;
          out += fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
        } else {
          out += fromCharCode(c);
        }
      };
      const invalid = () => {
        if (fatal) throw new TypeErrorCtor('The encoded data was not valid for encoding utf-8');
        emit(0xfffd);
      };
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i];
        if (needed === 0) {
          if (b <= 0x7f) emit(b);
          else if (b >= 0xc2 && b <= 0xdf) {
            needed = 1;
            codePoint = b & 0x1f;
          } else if (b >= 0xe0 && b <= 0xef) {
            if (b === 0xe0) lower = 0xa0;
            if (b === 0xed) upper = 0x9f;
            needed = 2;
            codePoint = b & 0xf;
          } else if (b >= 0xf0 && b <= 0xf4) {
            if (b === 0xf0) lower = 0x90;
            if (b === 0xf4) upper = 0x8f;
            needed = 3;
            codePoint = b & 0x7;
          } else invalid();
          continue;
        }
        if (b < lower || b > upper) {
          codePoint = needed = seen = 0;
          lower = 0x80;
          upper = 0xbf;
          invalid();
          i--;
          continue;
        }
        lower = 0x80;
        upper = 0xbf;
        codePoint = (codePoint << 6) | (b & 0x3f);
        if (++seen === needed) {
          emit(codePoint);
          codePoint = needed = seen = 0;
        }
      }
      if (needed !== 0) invalid();
      if (!this.#ignoreBOM && charCodeAt(out, 0) === 0xfeff) out = stringSlice(out, 1);
      return out;
    }
  }

  // --- console ------------------------------------------------------------------------------------
  /** @type {[level: string, message: string][]} */
  let logs = [];
  let logCalls = 0;

  /**
   * Roughly what Node's util.inspect prints, without ever calling getters.
   * @param {unknown} value
   * @param {number} depth
   * @returns {string}
   */
  function show(value, depth) {
    switch (typeof value) {
      case 'string':
        return depth === 0 ? value : JSONStringify(value);
      case 'number':
        return value === 0 && 1 / value < 0 ? '-0' : '' + value;
      case 'bigint':
        return '' + value + 'n';
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
        return 'undefined';
      case 'symbol':
        return symbolToString(value);
      case 'function':
        return '[Function: ' + (typeof value.name === 'string' && value.name ? value.name : '(anonymous)') + ']';
    }
    if (value === null) return 'null';
    if (value instanceof ErrorCtor) {
      const stack = value.stack;
      return typeof stack === 'string' ? stack : errorToString(value);
    }
    if (value instanceof DateCtor) {
      return dateGetTime(value) === dateGetTime(value) ? dateToISOString(value) : 'Invalid Date';
    }
    if (isView(value) && !(value instanceof DataViewCtor)) {
      const n = value.length;
      let text = '';
      if (isBuffer(value)) {
        for (let i = 0; i < n && i < 50; i++) text += ' ' + (value[i] < 16 ? '0' : '') + value[i].toString(16);
        return '<Buffer' + text + (n > 50 ? ' ... ' + (n - 50) + ' more bytes' : '') + '>';
      }
      for (let i = 0; i < n && i < 100; i++) text += (i ? ', ' : ' ') + show(value[i], depth + 1);
      return 'TypedArray(' + n + ') [' + text + (n > 100 ? ', ... ' + (n - 100) + ' more items' : '') + ' ]';
    }
    const array = isArray(value);
    if (depth > 3) return array ? '[Array]' : '[Object]';
    // An object: every other type returned above.
    const keys = ObjectKeys(/** @type {object} */ (value));
    let text = '';
    for (let i = 0; i < keys.length && i < 100; i++) {
      const key = keys[i];
      const descriptor = getOwnPropertyDescriptor(value, key);
      const shown = descriptor && hasOwn(descriptor, 'value') ? show(descriptor.value, depth + 1) : '[Getter/Setter]';
      text += (i ? ', ' : ' ') + (array ? '' : key + ': ') + shown;
    }
    if (keys.length > 100) text += ', ... ' + (keys.length - 100) + ' more';
    return array ? '[' + text + ' ]' : '{' + text + ' }';
  }

  /**
   * @param {string} level
   * @param {unknown[]} args
   */
  function record(level, args) {
    logCalls++;
    if (logs.length >= LIMITS.maxLogEntries) return;
    let text = '';
    try {
      for (let i = 0; i < args.length && text.length <= LIMITS.maxLogChars; i++) {
        text += (i ? ' ' : '') + show(args[i], 0);
      }
    } catch {
      text += ' [unprintable value]';
    }
    if (text.length > LIMITS.maxLogChars) text = stringSlice(text, 0, LIMITS.maxLogChars - 1) + '\u2026';
    logs[logs.length] = [level, text];
  }

  const consoleObject = {
    /** @param {...unknown} args */
    log(...args) { record('log', args); },
    /** @param {...unknown} args */
    info(...args) { record('info', args); },
    /** @param {...unknown} args */
    warn(...args) { record('warn', args); },
    /** @param {...unknown} args */
    error(...args) { record('error', args); },
    /** @param {...unknown} args */
    debug(...args) { record('log', args); },
    /** @param {...unknown} args */
    trace(...args) { record('log', args); },
  };

  /** Buffered log entries as a JSON array; when some were dropped, the last slot says how many. */
  function logsJson() {
    const n = logs.length;
    const dropped = logCalls - n;
    let text = '';
    for (let i = 0; i < n; i++) {
      let level = logs[i][0];
      let message = logs[i][1];
      if (dropped > 0 && i === n - 1) {
        level = 'warn';
        message = '\u2026 ' + (dropped + 1) + ' more log entries dropped (limit ' + LIMITS.maxLogEntries + ')';
      }
      text += (i ? ',' : '') + '{"level":"' + level + '","message":' + JSONStringify(message) + '}';
    }
    return '[' + text + ']';
  }

  // --- globals ------------------------------------------------------------------------------------
  /**
   * @param {string} name
   * @param {unknown} value
   */
  const defineGlobal = (name, value) =>
    defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  defineGlobal('Buffer', bufferExports.Buffer);
  defineGlobal('atob', atob);
  defineGlobal('btoa', btoa);
  defineGlobal('TextEncoder', TextEncoder);
  defineGlobal('TextDecoder', TextDecoder);
  defineGlobal('console', consoleObject);
  const moduleObject = { exports: {} };
  global.module = moduleObject;
  global.exports = moduleObject.exports;

  // --- safe JSON serializer -----------------------------------------------------------------------
  /** Thrown by the serializer; kind is 'contract' or 'limit'. Not an Error: no stack to capture. */
  class SerializeFailure {
    // Fields are defined, not assigned, so setters user code put on Object.prototype never run.
    /** @type {'contract' | 'limit'} */
    kind;
    /** @type {string} */
    message;
    /**
     * @param {'contract' | 'limit'} kind
     * @param {string} message
     */
    constructor(kind, message) {
      this.kind = kind;
      this.message = message;
    }
  }
  const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
  /** @type {unknown[]} */
  const ancestors = [];
  /** @type {(string | number)[]} */
  const pathKeys = [];
  let depth = 0;

  /** @param {string} what */
  function fail(what) {
    let path = 'output';
    for (let i = 0; i < depth; i++) {
      const key = pathKeys[i];
      path += typeof key === 'number' ? '[' + key + ']' : regexpExec(IDENTIFIER, key) !== null ? '.' + key : '[' + JSONStringify(key) + ']';
    }
    return new SerializeFailure('contract', path + ' ' + what);
  }

  /**
   * @param {any} value the output or a value in it: anything user code returned
   * @param {string} key
   * @returns {string}
   */
  function serialize(value, key) {
    if (typeof value === 'object' && value !== null) {
      if (isView(value)) {
        // Typed arrays and Buffers become arrays of numbers: encoders often return them as bytes.
        if (!(value instanceof DataViewCtor)) {
          const copy = [];
          for (let i = 0; i < value.length; i++) copy[i] = value[i];
          value = copy;
        }
      } else if (typeof value.toJSON === 'function') {
        value = value.toJSON(key);
      }
    }
    switch (typeof value) {
      case 'string':
        return JSONStringify(value);
      case 'number':
        if (value - value !== 0) throw fail(value !== value ? 'is NaN' : 'is ' + value);
        return '' + value;
      case 'boolean':
        return value ? 'true' : 'false';
      case 'object':
        return value === null ? 'null' : serializeObject(value);
      default:
        throw fail('is ' + (typeof value === 'undefined' ? 'undefined' : 'a ' + typeof value) + ', which is not JSON');
    }
  }

  /**
   * @param {Record<string, unknown> | unknown[]} value
   * @returns {string}
   */
  function serializeObject(value) {
    if (depth >= LIMITS.maxDepth) throw fail('is nested deeper than ' + LIMITS.maxDepth + ' levels');
    for (let i = 0; i < depth; i++) {
      if (ancestors[i] === value) throw fail('is a circular reference');
    }
    ancestors[depth] = value;
    depth++;
    let out;
    if (isArray(value)) {
      out = '[';
      const n = value.length;
      for (let i = 0; i < n; i++) {
        pathKeys[depth - 1] = i;
        const item = value[i];
        out += (i ? ',' : '') + (item === undefined ? 'null' : serialize(item, '' + i));
        if (out.length > LIMITS.maxOutputChars) throw new SerializeFailure('limit', 'output is larger than ' + LIMITS.maxOutputChars + ' characters');
      }
      out += ']';
    } else {
      out = '{';
      const keys = ObjectKeys(value);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        pathKeys[depth - 1] = k;
        if (k === '__proto__') throw fail('is a "__proto__" key, which is not allowed');
        const item = value[k];
        if (item === undefined) continue;
        out += (out.length > 1 ? ',' : '') + JSONStringify(k) + ':' + serialize(item, k);
        if (out.length > LIMITS.maxOutputChars) throw new SerializeFailure('limit', 'output is larger than ' + LIMITS.maxOutputChars + ' characters');
      }
      out += '}';
    }
    depth--;
    ancestors[depth] = undefined;
    return out;
  }

  /** @param {unknown} value */
  function toJson(value) {
    depth = 0;
    ancestors.length = 0;
    return serialize(value, '');
  }

  // --- bridge -------------------------------------------------------------------------------------
  /**
   * @param {unknown} err
   * @returns {[head: string, stack: string]}
   */
  function describeThrown(err) {
    try {
      if (err instanceof ErrorCtor) {
        const name = err.name;
        const message = err.message;
        const stack = err.stack;
        const head = (typeof name === 'string' && name ? stringSlice(name, 0, 200) : 'Error') +
          (typeof message === 'string' && message ? ': ' + stringSlice(message, 0, 4000) : '');
        return [head, typeof stack === 'string' ? stringSlice(stack, 0, 4000) : ''];
      }
      return ['Uncaught ' + stringSlice(show(err, 1), 0, 500), ''];
    } catch {
      return ['Uncaught exception (unprintable)', ''];
    }
  }

  /**
   * @param {'runtime' | 'contract' | 'limit'} kind
   * @param {string} message
   * @param {string} stack
   */
  function failure(kind, message, stack) {
    return '{"k":"' + kind + '","m":' + JSONStringify(message) + ',"s":' + JSONStringify(stack) +
      (logCalls > 0 ? ',"l":' + logsJson() : '') + '}';
  }

  // The entry points load resolved. The host runs a direction only when load reported a function
  // for it, so run never meets an unset one.
  /** @type {UserFunction} */
  let uplinkFn;
  /** @type {ScriptStyle | null} */
  let uplinkStyle = null;
  /** @type {UserFunction} */
  let downlinkFn;
  /** @type {ScriptStyle | null} */
  let downlinkStyle = null;
  /** @type {UserFunction | undefined} */
  let decodeDownlinkFn;
  /** @type {UserFunction | undefined} TTS-style only, as in The Things Stack. */
  let normalizeUplinkFn;
  /** @type {any} module.exports of the user script, whatever it is. */
  let thingerExports;

  /**
   * fn.length leaves out a parameter with a default and a rest parameter, so `(payload, device = {})`
   * and `(payload, ...rest)` have a length of 1 too: a `=` (not an arrow's `=>`) or a `...` in the
   * source before its first `)` or `=>` is taken for one. A false match only sends an unread argument.
   */
  const HIDDEN_PARAMETER = /^(?:[^)=.]|\.(?!\.\.))*(?:=(?!>)|\.\.\.)/;

  /**
   * Does a Thinger function read its second argument? If not, the host skips serialising it.
   * @param {UserFunction} fn
   */
  function readsSecondArgument(fn) {
    try {
      if (fn.length !== 1) return true;
      const source = functionSource(fn);
      return stringIncludes(source, 'arguments') || regexpExec(HIDDEN_PARAMETER, source) !== null;
    } catch {
      return true;
    }
  }

  /**
   * Evaluates the user script in the global scope and resolves its entry points.
   * @param {string} source
   * @returns {string}
   */
  function load(source) {
    /**
     * The entry points of ENTRY_NAMES (prelude.ts) when they are functions, then module.exports.
     * @type {[UserFunction?, UserFunction?, UserFunction?, UserFunction?, UserFunction?, UserFunction?, unknown?]}
     */
    let captured;
    try {
      captured = /** @type {typeof captured} */ (indirectEval(source + CAPTURE_SUFFIX));
    } catch (err) {
      const thrown = describeThrown(err);
      return failure('runtime', thrown[0], thrown[1]);
    }
    let thingerUplink, thingerDownlink;
    try {
      thingerExports = captured[6];
      if (thingerExports !== null && (typeof thingerExports === 'object' || typeof thingerExports === 'function')) {
        if (typeof thingerExports.uplink === 'function') thingerUplink = thingerExports.uplink;
        if (typeof thingerExports.downlink === 'function') thingerDownlink = thingerExports.downlink;
      }
    } catch (err) {
      const thrown = describeThrown(err);
      return failure('runtime', thrown[0], thrown[1]);
    }
    // Thinger exports win over TTS functions, per direction.
    if (thingerUplink) {
      uplinkFn = thingerUplink;
      uplinkStyle = 'thinger';
    } else if (captured[0]) {
      uplinkFn = captured[0];
      uplinkStyle = 'tts';
    } else if (captured[3]) {
      uplinkFn = captured[3];
      uplinkStyle = 'legacy';
    }
    if (thingerDownlink) {
      downlinkFn = thingerDownlink;
      downlinkStyle = 'thinger';
    } else if (captured[1]) {
      downlinkFn = captured[1];
      downlinkStyle = 'tts';
    } else if (captured[4]) {
      downlinkFn = captured[4];
      downlinkStyle = 'legacy';
    }
    decodeDownlinkFn = captured[2];
    normalizeUplinkFn = uplinkStyle === 'tts' ? captured[5] : undefined;
    // Built by hand: user code may already have changed Object.prototype (e.g. a toJSON).
    return '{"k":"ok","u":' + JSONStringify(uplinkStyle) + ',"d":' + JSONStringify(downlinkStyle) +
      ',"x":' + (decodeDownlinkFn !== undefined) + ',"n":' + (normalizeUplinkFn !== undefined) +
      ',"um":' + (uplinkStyle === 'thinger' && readsSecondArgument(uplinkFn)) +
      ',"dm":' + (downlinkStyle === 'thinger' && readsSecondArgument(downlinkFn)) + '}';
  }

  /** decodeUplink's result (as JSON already) with what normalizeUplink made of it. */
  class Normalizing {
    // Fields are defined, not assigned, so setters user code put on Object.prototype never run.
    /** @type {string} */
    decoded;
    /** @type {unknown} */
    normalized;
    /** @type {[head: string, stack: string] | undefined} */
    thrown;
    /**
     * @param {string} decoded
     * @param {unknown} normalized
     * @param {[head: string, stack: string] | undefined} thrown
     */
    constructor(decoded, normalized, thrown) {
      this.decoded = decoded;
      this.normalized = normalized;
      this.thrown = thrown;
    }
  }

  /**
   * As The Things Stack: normalizeUplink({data}) runs when decodeUplink returned data and no errors.
   * Unlike it, a throw fails the normalization only: the decoded data stands.
   * @param {any} decoded
   */
  function normalize(decoded) {
    // Nothing returned: the host says so as for any decodeUplink.
    if (decoded === undefined) return undefined;
    // Serialized first: nothing the normalizer does to `data` (a cycle, a throwing getter) reaches the decoded output.
    const decodedJson = toJson(decoded);
    if (typeof decoded !== 'object' || decoded === null) return new Normalizing(decodedJson, undefined, undefined);
    const data = decoded.data;
    const errors = decoded.errors;
    if ((errors && errors.length) || !data) return new Normalizing(decodedJson, undefined, undefined);
    try {
      return new Normalizing(decodedJson, /** @type {UserFunction} */ (normalizeUplinkFn)({ data }), undefined);
    } catch (err) {
      return new Normalizing(decodedJson, undefined, describeThrown(err));
    }
  }

  /**
   * `{"decoded":…,"normalized":…}`, or with "thrown" (normalizeUplink threw) or "unfit" (its output
   * is no JSON): a normalization that failed leaves the decoded output as it is.
   * @param {Normalizing} result
   */
  function normalizingJson(result) {
    const decoded = result.decoded;
    if (result.thrown !== undefined) return '{"decoded":' + decoded + ',"thrown":' + JSONStringify(result.thrown) + '}';
    if (result.normalized === undefined) return '{"decoded":' + decoded + '}';
    try {
      return '{"decoded":' + decoded + ',"normalized":' + toJson(result.normalized) + '}';
    } catch (err) {
      // A toJSON or getter of the normalizer's output that throws is the normalizer's failure too.
      if (!(err instanceof SerializeFailure)) return '{"decoded":' + decoded + ',"thrown":' + JSONStringify(describeThrown(err)) + '}';
      return '{"decoded":' + decoded + ',"unfit":' + JSONStringify(stringSlice(err.message, 0, 500)) + '}';
    }
  }

  /**
   * @param {string} head
   * @param {string | undefined} first
   * @param {string | undefined} second
   * @returns {unknown}
   */
  function invoke(head, first, second) {
    // head = op + fPort + ':' + base64 [+ ':' + receivedAt], packed into one string because every
    // argument crossing the isolate boundary costs more than splitting it here.
    const op = head[0];
    const portEnd = stringIndexOf(head, ':');
    const fPort = portEnd > 1 ? +stringSlice(head, 1, portEnd) : undefined;
    const bytesEnd = stringIndexOf(head, ':', portEnd + 1);
    const b64 = stringSlice(head, portEnd + 1, bytesEnd < 0 ? head.length : bytesEnd);
    if (op === 'u' || op === 'p') {
      if (uplinkStyle === 'thinger') {
        const payload = first === undefined ? b64 : JSONParse(first);
        return callFunction(uplinkFn, thingerExports, payload, second === undefined ? undefined : JSONParse(second));
      }
      if (uplinkStyle === 'tts') {
        const recvTime = bytesEnd < 0 ? new DateCtor() : new DateCtor(stringSlice(head, bytesEnd + 1));
        const decoded = uplinkFn({ bytes: base64Bytes(b64), fPort, recvTime });
        // 'p': the network normalized this uplink already.
        return normalizeUplinkFn === undefined || op === 'p' ? decoded : normalize(decoded);
      }
      return uplinkFn(base64Bytes(b64), fPort);
    }
    if (op === 'd') {
      // A downlink always has its payload (at least "null").
      const data = JSONParse(/** @type {string} */ (first));
      if (downlinkStyle === 'thinger') {
        return callFunction(downlinkFn, thingerExports, data, second === undefined ? undefined : JSONParse(second));
      }
      if (downlinkStyle === 'tts') return downlinkFn({ data, fPort });
      return downlinkFn(data, fPort);
    }
    return /** @type {UserFunction} */ (decodeDownlinkFn)({ bytes: base64Bytes(b64), fPort });
  }

  /**
   * One formatter call: op 'u' uplink, 'p' uplink without normalizing, 'd' downlink, 'x' decode
   * downlink (see invoke for head).
   * first/second are JSON texts or absent. Replies {"r":<json>?,"l":[...]?} on success, else
   * {"k":<kind>,"m":...,"s":...,"l":[...]?}.
   * @param {string} head
   * @param {...(string | null)} pieces
   * @returns {string}
   */
  function run(head, ...pieces) {
    // The host sends each JSON text in pieces (see app-sandbox.ts), null between the first and the second.
    /** @type {string | undefined} */
    let first;
    /** @type {string | undefined} */
    let text;
    let split = false;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (piece === null) {
        first = text;
        text = undefined;
        split = true;
      } else {
        text = text === undefined ? piece : text + piece;
      }
    }
    const second = split ? text : undefined;
    if (!split) first = text;
    if (logCalls > 0) {
      logs = [];
      logCalls = 0;
    }
    let result;
    try {
      result = invoke(head, first, second);
    } catch (err) {
      // normalize() serializes the decoded output inside the call.
      if (err instanceof SerializeFailure) return failure(err.kind, err.message, '');
      const thrown = describeThrown(err);
      return failure('runtime', thrown[0], thrown[1]);
    }
    let json;
    try {
      json = result === undefined ? undefined : result instanceof Normalizing ? normalizingJson(result) : toJson(result);
    } catch (err) {
      if (err instanceof SerializeFailure) return failure(err.kind, err.message, '');
      return failure('contract', 'output could not be converted to JSON: ' + describeThrown(err)[0], '');
    }
    const logPart = logCalls > 0 ? '"l":' + logsJson() : '';
    if (json === undefined) return '{' + logPart + '}';
    return '{"r":' + json + (logPart ? ',' + logPart : '') + '}';
  }

  /**
   * Logs buffered by a call that did not return (timeout), so the user can see how far it got.
   * @returns {string}
   */
  function drain() {
    return logsJson();
  }

  return { load, run, drain };
})
