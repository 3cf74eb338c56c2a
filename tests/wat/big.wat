;; A memory larger than the largest slab class (256 MiB), for the limits on
;; large memories and on memory size.
(module
  (memory (export "memory") 4800)
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)
