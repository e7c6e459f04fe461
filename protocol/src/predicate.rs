//! The verdict predicate language.
//!
//! A small expression language over a point's params, `runtime`, and its
//! summary metrics (medians over repeats), e.g.
//! `threads_plateau >= 0.9 * conns && runtime != 'tokio'`.
//!
//! Grammar (lowest precedence first):
//!
//! ```text
//! expr    := or
//! or      := and ( ("||" | "or") and )*
//! and     := not ( ("&&" | "and") not )*
//! not     := ("!" | "not") not | cmp
//! cmp     := sum ( ("==" | "!=" | "<" | "<=" | ">" | ">=") sum )?
//!          | sum "in" "[" literal ("," literal)* "]"
//! sum     := product ( ("+" | "-") product )*
//! product := unary ( ("*" | "/") unary )*
//! unary   := "-" unary | atom
//! atom    := number | 'string' | "string" | true | false | ident
//!          | ident "(" expr ("," expr)* ")"      -- min, max, abs
//!          | "(" expr ")"
//! ident   := [A-Za-z_][A-Za-z0-9_.]*
//! ```
//!
//! Parsing errors give the column (1-based) and what was expected. An
//! evaluation that meets a name the point does not have is an error naming
//! it (the verdict then says "no data" for that point, not "false").
