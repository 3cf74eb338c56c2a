;; The switch benchmark's module (bench/million/switch.c). Its state is one
;; counter in linear memory, as an actor's state would be, so that resuming
;; an instance reaches its memory as well as its header and stack.
;;
;; spin(n) adds one to the counter n times and returns it: a loop whose
;; back-edge is a safepoint, so a run of it can be paused every slice.
;; touch() adds one to the counter once and returns its low 32 bits: the
;; shortest call that still reaches the instance's memory (an i32, so that
;; V8's side, touch.wat, hands JavaScript a small integer, not a BigInt).
;;
;; The build gives myriad a 4 KiB memory (tools/pagesize: page size 1, the
;; smallest memory slot) so that a million of them fit beside everything
;; else; the memory is written here with a 64 KiB page only because
;; wat2wasm cannot write custom page sizes.
(module
  (memory (export "memory") 1 1)
  (func (export "spin") (param $n i64) (result i64)
    (loop $again
      (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
      (br_if $again (i64.ne (local.tee $n (i64.sub (local.get $n) (i64.const 1)))
                            (i64.const 0))))
    (i64.load (i32.const 0)))
  (func (export "touch") (result i32)
    (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
    (i32.wrap_i64 (i64.load (i32.const 0))))
)
