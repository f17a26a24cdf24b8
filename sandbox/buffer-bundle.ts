/**
 * Source of the `buffer` package (Node's Buffer API in plain JavaScript) bundled as one expression
 * for the isolate, so formatters get `Buffer` behaving as in Node without any host function.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let cached: string | undefined;

/**
 * A JavaScript expression that evaluates to the `buffer` package's exports inside the isolate.
 * The three CommonJS modules are wrapped by a tiny private `require`; nothing of it becomes global.
 */
export function bufferBundleSource(): string {
  if (cached !== undefined) return cached;
  const hostRequire = createRequire(import.meta.url);
  // 'buffer' alone resolves to Node's core module; the subpath forces the npm package.
  const bufferPath = hostRequire.resolve('buffer/index.js');
  const fromBuffer = createRequire(bufferPath);
  const modules: Record<string, string> = {
    buffer: bufferPath,
    'base64-js': fromBuffer.resolve('base64-js'),
    ieee754: fromBuffer.resolve('ieee754'),
  };
  const definitions = Object.entries(modules)
    .map(
      ([name, path]) =>
        `${JSON.stringify(name)}: function (module, exports, require) {\n${readFileSync(path, 'utf8')}\n}`,
    )
    .join(',\n');
  cached = `(function () {
var definitions = {
${definitions}
};
var loaded = {};
function require(name) {
  if (loaded[name]) return loaded[name].exports;
  var define = definitions[name];
  if (!define) throw new Error('Cannot find module ' + name);
  var module = (loaded[name] = { exports: {} });
  define.call(module.exports, module, module.exports, require);
  return module.exports;
}
return require('buffer');
})()`;
  return cached;
}
