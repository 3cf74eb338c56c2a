;; The ring of tests/unit/test_actor.c: "ring" receives (N, M) from the
;; host, builds a ring of N actors (itself and N - 1 "node"s, each spawned
;; with the pid it forwards to as its first message), sends a token round
;; M times, each actor adding one, then a stop round that ends every node,
;; and reports (token, actors spawned) to the host with tag 1. A lost,
;; duplicated or reordered message shows in the token. A failed spawn
;; ends the building early: the count reports it.
;;
;; Memory: 0 the pid to forward to, 8 a message (the token), 16 the
;; receive info, 32 the entry name "node", 40 N and M, then the report.
(module
  (import "myriad" "self" (func $self (result i64)))
  (import "myriad" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
  (import "myriad" "send" (func $send (param i64 i64 i32 i32) (result i32)))
  (import "myriad" "receive" (func $receive (param i64 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "node")

  (func (export "node")
    (local $tag i64)
    (drop (call $receive (i64.const 0) (i32.const 0) (i32.const 8) (i64.const -1) (i32.const 16)))
    (loop $l
      (if (i32.ne (call $receive (i64.const 0) (i32.const 8) (i32.const 8) (i64.const -1)
                                 (i32.const 16))
                  (i32.const 8))
        (then unreachable))
      (local.set $tag (i64.load (i32.const 24)))
      (if (i64.eq (local.get $tag) (i64.const 1))
        (then (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.const 1)))))
      (if (call $send (i64.load (i32.const 0)) (local.get $tag) (i32.const 8) (i32.const 8))
        (then unreachable))
      (br_if $l (i64.eq (local.get $tag) (i64.const 1)))))

  (func (export "ring")
    (local $host i64) (local $n i64) (local $m i64) (local $i i64) (local $pid i64)
    (if (i32.ne (call $receive (i64.const 0) (i32.const 40) (i32.const 16) (i64.const -1)
                               (i32.const 16))
                (i32.const 16))
      (then unreachable))
    (local.set $host (i64.load (i32.const 16)))
    (local.set $n (i64.load (i32.const 40)))
    (local.set $m (i64.load (i32.const 48)))
    (i64.store (i32.const 0) (call $self))
    ;; Built backwards: each new node forwards to the one before it, the
    ;; first to us, and we send to the last.
    (local.set $i (i64.const 1))
    (block $built
      (loop $build
        (br_if $built (i64.ge_s (local.get $i) (local.get $n)))
        (local.set $pid (call $spawn (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 8)
                                     (i32.const 0)))
        (br_if $built (i64.le_s (local.get $pid) (i64.const 0)))
        (i64.store (i32.const 0) (local.get $pid))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $build)))
    (i64.store (i32.const 8) (i64.const 0))
    (block $done
      (loop $round
        (br_if $done (i64.eqz (local.get $m)))
        (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.const 1)))
        (if (call $send (i64.load (i32.const 0)) (i64.const 1) (i32.const 8) (i32.const 8))
          (then unreachable))
        (if (i32.ne (call $receive (i64.const 1) (i32.const 8) (i32.const 8) (i64.const -1)
                                   (i32.const 16))
                    (i32.const 8))
          (then unreachable))
        (local.set $m (i64.sub (local.get $m) (i64.const 1)))
        (br $round)))
    (i64.store (i32.const 56) (i64.load (i32.const 8)))
    (i64.store (i32.const 64) (local.get $i))
    (if (call $send (i64.load (i32.const 0)) (i64.const 2) (i32.const 8) (i32.const 8))
      (then unreachable))
    (drop (call $receive (i64.const 2) (i32.const 8) (i32.const 8) (i64.const -1) (i32.const 16)))
    (drop (call $send (local.get $host) (i64.const 1) (i32.const 56) (i32.const 16))))
)
