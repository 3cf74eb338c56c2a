;; Workloads for the compiler tier's tests (tests/unit/test_tier.c): a
;; long loop to move to machine code while it runs, and one function per
;; trap so both tiers can be compared on each.
(module
  (memory (export "memory") 1)
  (table 2 funcref)
  (elem (i32.const 0) $sum $div)
  (type $unary (func (param i32) (result i32)))
  ;; sum of (i * i) xor i for i < n, with a value carried in memory
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (local.get $acc)
        (i32.xor (i32.mul (local.get $i) (local.get $i)) (local.get $i))))
      (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.add (local.get $acc) (i32.load (i32.const 64))))
  (func $div (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func (export "oob") (param i32) (result i32)
    (i32.load offset=8 (local.get 0)))
  (func (export "unreachable") (unreachable))
  (func $down (export "down") (param i32) (result i32)
    (i32.add (i32.const 1) (call $down (local.get 0))))
  ;; table entry 1 is $div, of another type
  (func (export "badcall") (param i32) (result i32)
    (call_indirect (type $unary) (i32.const 5) (local.get 0)))
  (func (export "trunc") (param f64) (result i32)
    (i32.trunc_f64_s (local.get 0)))
)
