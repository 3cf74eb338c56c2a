;; The soak test's instance: writes its 16 KiB of linear memory (the
;; build sets the page size to 1 byte: 16384 pages, see CMakeLists.txt)
;; with words derived from its id, then sums them back; at step `at` of
;; the 4096 it may trap, exit, sleep or wait, as `action` says (chosen
;; per instance by the host from a seed).
(module
  (import "env" "nap" (func $nap (param i32)))
  (import "env" "wait" (func $wait))
  (import "env" "exit" (func $exit (param i32)))
  (memory 1 1)
  (func $f (param $id i64) (param $j i64) (result i64) (local $x i64)
    (local.set $x
      (i64.mul (i64.add (i64.mul (local.get $id) (i64.const 0x9E3779B97F4A7C15))
                        (local.get $j))
               (i64.const 0xD6E8FEB86659FD93)))
    (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 29))))
  (func $act (param $id i32) (param $action i32) (param $at i32)
    (if (i32.eq (local.get $action) (i32.const 1)) (then unreachable))
    (if (i32.eq (local.get $action) (i32.const 2))
      (then (call $exit (i32.and (local.get $id) (i32.const 127)))))
    ;; 1 to 1000 microseconds
    (if (i32.eq (local.get $action) (i32.const 3))
      (then (call $nap (i32.add (i32.rem_u (local.get $at) (i32.const 1000))
                                (i32.const 1)))))
    (if (i32.eq (local.get $action) (i32.const 4)) (then (call $wait))))
  (func (export "run") (param $id i32) (param $action i32) (param $at i32)
                       (result i64)
    (local $j i32) (local $sum i64)
    (loop $l
      (if (i32.eq (local.get $j) (local.get $at))
        (then (call $act (local.get $id) (local.get $action) (local.get $at))))
      (if (i32.lt_u (local.get $j) (i32.const 2048))
        (then
          (i64.store (i32.shl (local.get $j) (i32.const 3))
            (call $f (i64.extend_i32_u (local.get $id))
                     (i64.extend_i32_u (local.get $j)))))
        (else
          (local.set $sum
            (i64.add (local.get $sum)
              (i64.xor
                (i64.load (i32.shl (i32.sub (local.get $j) (i32.const 2048))
                                   (i32.const 3)))
                (i64.extend_i32_u (local.get $j)))))))
      (br_if $l (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                          (i32.const 4096))))
    (local.get $sum))
)
