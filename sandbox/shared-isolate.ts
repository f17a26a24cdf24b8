/**
 * One V8 isolate that hosts the formatters of up to `capacity` applications, each application in
 * contexts of its own (see AppSandbox).
 *
 * Why share: an isolate's heap does not go below ~3.5 MB once it has run a few hundred calls (two
 * 1 MB semi-spaces plus one page per space, whatever its memory limit), so 100 applications in 100
 * isolates hold ~350 MB; in contexts of one isolate they hold ~0.25 MB each. Contexts keep
 * applications apart (own globals and intrinsics, nothing reachable across); what tenants share is
 * the heap limit and its garbage collector. A tenant whose formatter exhausts the heap takes the
 * isolate down once: the runtime then gives it an isolate of its own (capacity 1).
 */
import ivm from 'isolated-vm';
import type { Prelude } from './prelude.js';

export class SharedIsolate {
  readonly isolate: ivm.Isolate;
  /** The runtime's prelude compiled for this isolate, run once in every new context. */
  readonly prelude: ivm.Script;
  /** The applications in this isolate. */
  readonly tenants = new Set<string>();
  /** A context no user code ever runs in, for the host's own measurements. */
  private probe: ivm.Context | undefined;

  constructor(
    prelude: Prelude,
    readonly memoryLimitMb: number,
    readonly capacity: number,
  ) {
    this.isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb });
    this.prelude = prelude.compile(this.isolate);
  }

  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  /** Room for one more application. */
  get open(): boolean {
    return !this.disposed && this.tenants.size < this.capacity;
  }

  get shared(): boolean {
    return this.capacity > 1;
  }

  join(appId: string): void {
    this.tenants.add(appId);
  }

  /** The last tenant to leave disposes the isolate. */
  leave(appId: string): void {
    this.tenants.delete(appId);
    if (this.tenants.size === 0) this.dispose();
  }

  /**
   * The heap in use after a full collection, when the process runs with --expose-gc (formatter
   * processes do): what the tenants hold, without their garbage. Without the flag, the heap in use.
   * The prelude deletes `gc` from every user context; only this host-made context can reach it.
   */
  retainedBytes(): number {
    if (this.disposed) return 0;
    this.probe ??= this.isolate.createContextSync();
    this.probe.evalSync('typeof gc === "function" && gc()', { timeout: 1000 });
    return this.isolate.getHeapStatisticsSync().used_heap_size;
  }

  /** The heap and the memory held outside it (external strings, array buffers). */
  memory(): { heapBytes: number; externalBytes: number } {
    if (this.disposed) return { heapBytes: 0, externalBytes: 0 };
    const h = this.isolate.getHeapStatisticsSync();
    return { heapBytes: h.total_heap_size, externalBytes: h.externally_allocated_size };
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
