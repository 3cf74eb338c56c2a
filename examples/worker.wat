;; The module examples/many_instances.c runs ten thousand times at once.
;; Each instance gets its index, naps in a host call, computes the length
;; of the Collatz sequence starting at index + 1, and reports it to the
;; host.
(module
  ;; Blocks this instance (not the thread running it) for ms milliseconds.
  (import "env" "sleep_ms" (func $sleep_ms (param i32)))
  ;; Hands one result to the host: which instance, and what it found.
  (import "env" "report" (func $report (param i32 i64)))

  (func (export "run") (param $id i32)
    (local $n i64) (local $steps i64)
    ;; Instances nap 0 to 3 ms, so that thousands are parked at once.
    (call $sleep_ms (i32.rem_u (local.get $id) (i32.const 4)))
    ;; Every 1000th instance fails on purpose, to show that a trap ends
    ;; only its own instance.
    (if (i32.eqz (i32.rem_u (local.get $id) (i32.const 1000)))
      (then unreachable))
    (local.set $n (i64.add (i64.extend_i32_u (local.get $id)) (i64.const 1)))
    (block $done
      (loop $step
        (br_if $done (i64.eq (local.get $n) (i64.const 1)))
        (local.set $n
          (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 1)))
            (then (i64.shr_u (local.get $n) (i64.const 1)))
            (else (i64.add (i64.mul (local.get $n) (i64.const 3))
                           (i64.const 1)))))
        (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
        (br $step)))
    (call $report (local.get $id) (local.get $steps)))
)
