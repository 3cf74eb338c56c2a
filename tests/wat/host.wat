;; Host calls that yield, sleep, wait and end the instance, for the
;; scheduler tests.
(module
  (import "env" "nap" (func $nap (param i32)))
  (import "env" "yield" (func $yield))
  (import "env" "wait" (func $wait (result i32)))
  (import "env" "signal" (func $signal (param i32)))
  (import "env" "wait_long" (func $wait_long (result i32)))
  (import "env" "end" (func $end (param i32)))
  (func (export "napper") (param $id i32) (result i32)
    (call $nap (i32.const 30))
    (i32.add (local.get $id) (i32.const 1)))
  (func (export "yielder") (param $id i32) (result i32) (local $i i32)
    (loop $l
      (call $yield)
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 100))))
    (local.get $id))
  (func (export "waiter") (param i32) (result i32) (call $wait))
  ;; Blocks on a 10 s timer; returns 1 if it was woken before it.
  (func (export "long_waiter") (param i32) (result i32) (call $wait_long))
  (func (export "signaller") (param $v i32) (result i32)
    (call $signal (local.get $v)) (i32.const 0))
  ;; Ends by an exit, a trap or returning, as end() decides from $id.
  (func (export "ender") (param $id i32) (result i32)
    (call $end (local.get $id)) (local.get $id))
)
