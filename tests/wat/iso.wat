;; Memory isolation and slot reuse: each instance fills its one page with a
;; pattern from its id, spinning between fill and check so the scheduler
;; switches it out many times; probes just past the end and near 2^32.
(module
  (memory (export "memory") 1 1)
  (func $pattern (param $id i32) (param $i i32) (result i32)
    (i32.xor (i32.mul (local.get $i) (i32.const 0x01000193))
             (i32.mul (local.get $id) (i32.const 0x9e3779b1))))
  ;; Returns 1 if every word read back as written, else 0.
  (func (export "fill_check") (param $id i32) (result i32)
    (local $i i32) (local $spin i32)
    (loop $fill
      (i32.store (i32.shl (local.get $i) (i32.const 2))
                 (call $pattern (local.get $id) (local.get $i)))
      (br_if $fill (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                           (i32.const 16384))))
    (loop $wait
      (br_if $wait (i32.ne (local.tee $spin (i32.add (local.get $spin) (i32.const 1)))
                           (i32.const 3000))))
    (local.set $i (i32.const 0))
    (loop $check
      (if (i32.ne (i32.load (i32.shl (local.get $i) (i32.const 2)))
                  (call $pattern (local.get $id) (local.get $i)))
        (then (return (i32.const 0))))
      (br_if $check (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                            (i32.const 16384))))
    (i32.const 1))
  ;; OR of every byte: 0 for a fresh memory.
  (func (export "any_nonzero") (result i32)
    (local $i i32) (local $acc i64)
    (loop $l
      (local.set $acc (i64.or (local.get $acc)
                              (i64.load (i32.shl (local.get $i) (i32.const 3)))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 8192))))
    (i32.wrap_i64 (i64.or (local.get $acc) (i64.shr_u (local.get $acc) (i64.const 32)))))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load64_far") (param i32) (result i64)
    (i64.load offset=0xFFFFFFF8 (local.get 0)))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "store8_far") (param i32)
    (i32.store8 offset=0xFFFFFFFF (local.get 0) (i32.const 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)
