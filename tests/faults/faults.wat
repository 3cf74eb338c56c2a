;; The module the allocation-failure test runs: every part of a module
;; that allocates when it is decoded, compiled or instantiated (types,
;; imports, functions, a table with an element segment, a memory with a
;; data segment, globals, a start function, exports), and functions that
;; grow the memory and the table, recurse deep enough to grow the value
;; stack, and block in a host call.
(module
  (type $t (func (param i64) (result i64)))
  (import "env" "nap" (func $nap (param i32) (result i32)))
  (memory (export "mem") 1)
  (table $tab 2 funcref)
  (elem (table $tab) (i32.const 0) func $mix $step)
  (global $g (export "g") (mut i64) (i64.const 0))
  (global $k i64 (i64.const 1442695040888963407))
  (data (i32.const 16) "myriad faults\00")
  (func $step (type $t)
    (i64.xor (i64.mul (local.get 0) (i64.const 6364136223846793005))
             (global.get $k)))
  (func $mix (type $t)
    (i64.add (call_indirect (type $t) (local.get 0) (i32.const 1))
             (i64.const 1)))
  (func $start (global.set $g (i64.const 7)))
  (start $start)
  ;; x stepped n times through the table: the result depends on x.
  (func (export "work") (param $x i64) (param $n i32) (result i64)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $x (call_indirect (type $t) (local.get $x)
                        (i32.and (local.get $n) (i32.const 1))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (i64.add (local.get $x) (global.get $g)))
  ;; Recursion n deep: the value stack grows past its first allocation.
  (func $down (export "down") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (call $down (i32.sub (local.get $n) (i32.const 1)))
                     (i32.const 1)))))
  ;; Grows the memory by n pages (past its slot, so it moves) and
  ;; returns memory.grow's result; the data segment must survive a move.
  (func (export "grow_mem") (param $n i32) (result i32) (local $r i32)
    (local.set $r (memory.grow (local.get $n)))
    (if (i32.ne (i32.load8_u (i32.const 16)) (i32.const 109)) (then unreachable))
    (local.get $r))
  (func (export "grow_table") (param $n i32) (result i32)
    (table.grow $tab (ref.func $step) (local.get $n)))
  (func (export "table_size") (result i32) (table.size $tab))
  (func (export "boom") (param i64) (result i64) unreachable)
  ;; Sleeps (a blocking host call with a timer) then works.
  (func (export "napper") (param $x i64) (result i64)
    (drop (call $nap (i32.const 1)))
    (call $mix (local.get $x)))
  ;; Blocks until woken by another thread, then works.
  (func (export "waiter") (param $x i64) (result i64)
    (drop (call $nap (i32.const 0)))
    (call $mix (local.get $x)))
)
