;; V8's side of the call benchmark (bench/million/v8.mjs): touch() on an
;; imported memory, so that one of these can be made for every live
;; instance of fill.wasm, on that instance's own memory, without allocating
;; another wasm memory (each new one costs V8 address space and a garbage
;; collection now and then; see docs/performance.md). It does what
;; spin.wat's touch() does in myriad: add one to a counter in memory.
(module
  (import "m" "memory" (memory 1))
  (func (export "touch") (result i32)
    (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
    (i32.wrap_i64 (i64.load (i32.const 0))))
)
