;; The module examples/mailbox.c runs as a few actors. An actor waits for
;; a message, shouts it back in capitals, and waits for the next, forever:
;; the host ends it when its mailbox is closed.
(module
  ;; Copies the next message into memory at $buf (at most $cap bytes) and
  ;; returns its length; waits while there is none.
  (import "env" "recv" (func $recv (param $buf i32) (param $cap i32) (result i32)))
  ;; Hands $len bytes at $buf to the host.
  (import "env" "send" (func $send (param $buf i32) (param $len i32)))
  (memory 1)

  (func (export "run")
    (local $len i32) (local $i i32) (local $c i32)
    (loop $forever
      (local.set $len (call $recv (i32.const 0) (i32.const 256)))
      (local.set $i (i32.const 0))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
          ;; 'a'..'z' become 'A'..'Z'
          (local.set $c (i32.load8_u (local.get $i)))
          (if (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26))
            (then (i32.store8 (local.get $i)
                              (i32.sub (local.get $c) (i32.const 32)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (call $send (i32.const 0) (local.get $len))
      (br $forever)))
)
