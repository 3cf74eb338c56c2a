;; A memory-less workload for many instances in tiny slices: a loop and
;; calls, returning a value that depends on the argument.
(module
  (func $step (param $x i64) (result i64)
    (i64.xor (i64.mul (local.get $x) (i64.const 6364136223846793005))
             (i64.const 1442695040888963407)))
  (func (export "work") (param $id i32) (result i64)
    (local $i i32) (local $x i64)
    (local.set $x (i64.extend_i32_u (local.get $id)))
    (loop $l
      (local.set $x (call $step (local.get $x)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (i32.const 200))))
    (local.get $x))
  ;; Recursion depth id % 500: stacks grow in the middle of the run.
  (func $down (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 7))
      (else (i32.add (call $down (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func (export "deep") (param $id i32) (result i32)
    (call $down (i32.rem_u (local.get $id) (i32.const 500))))
;; Never returns: for runs that are stopped.
  (func (export "spin") (param $id i32) (result i32)
    (loop $l (br $l))
    (i32.const 0))
  (func (export "boom") (param $id i32) (result i32)
    (if (i32.eq (i32.rem_u (local.get $id) (i32.const 97)) (i32.const 13))
      (then unreachable))
    (i32.add (local.get $id) (i32.const 1)))
)
