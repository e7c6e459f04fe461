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
//!
//! # Invariants
//!
//! * Columns are 1-based and count characters (not bytes), so a message
//!   `column 14: expected ...` points at the 14th character of the predicate
//!   as the author wrote it. The sweep loader adds the predicate's own
//!   position in the YAML file to turn that into `file:line:column`.
//! * Parsing is total: every input either yields a [`Predicate`] or a
//!   [`ParseError`] saying what was expected and what was found instead.
//! * Evaluation never panics. `&&` and `||` short-circuit, so
//!   `runtime == 'go' && go_only_metric > 1` is simply false on tokio even
//!   though tokio has no `go_only_metric`. A name that is needed but absent
//!   is [`EvalError::Unknown`], distinct from a type error, so a verdict can
//!   say "no data" instead of "false".
//! * Numbers are f64; `==` on numbers is exact (the metrics are counts or
//!   medians of counts, where exactness is what the author means).

use crate::metrics::{Params, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Num(f64),
    Str(String),
    Bool(bool),
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Num(_) => "number",
            Val::Str(_) => "string",
            Val::Bool(_) => "boolean",
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Num(n) => write!(f, "{}", Value::Num(*n)),
            Val::Str(s) => write!(f, "'{s}'"),
            Val::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<&Value> for Val {
    fn from(v: &Value) -> Self {
        match v {
            Value::Num(n) => Val::Num(*n),
            Value::Str(s) => Val::Str(s.clone()),
        }
    }
}

/// A syntax error: where (1-based character column) and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

/// An evaluation error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The point has no param or metric of that name.
    #[error("unknown name `{0}`")]
    Unknown(String),
    /// An operator met values it cannot combine (e.g. `'raw' > 2`).
    #[error("{0}")]
    Type(String),
}

/// Names a predicate can look up: params, `runtime`, metrics.
pub trait Context {
    fn get(&self, name: &str) -> Option<Val>;
}

/// The usual context: a flat map built from params, runtime and metrics.
/// Metrics shadow params of the same name (they are what was measured).
#[derive(Debug, Clone, Default)]
pub struct MapContext {
    pub vars: BTreeMap<String, Val>,
}

impl MapContext {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_params(mut self, params: &Params) -> Self {
        for (k, v) in params {
            self.vars.insert(k.clone(), Val::from(v));
        }
        self
    }

    pub fn with_runtime(self, runtime: &str) -> Self {
        self.with_str("runtime", runtime)
    }

    pub fn with_str(mut self, name: &str, value: &str) -> Self {
        self.vars
            .insert(name.to_string(), Val::Str(value.to_string()));
        self
    }

    pub fn with_metrics(mut self, metrics: &BTreeMap<String, f64>) -> Self {
        for (k, v) in metrics {
            self.vars.insert(k.clone(), Val::Num(*v));
        }
        self
    }
}

impl Context for MapContext {
    fn get(&self, name: &str) -> Option<Val> {
        self.vars.get(name).cloned()
    }
}

/// A parsed predicate, keeping its source for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    source: String,
    expr: Expr,
}

impl Predicate {
    /// Parses `src` per the grammar at the top of this file.
    pub fn parse(src: &str) -> Result<Predicate, ParseError> {
        let tokens = lex(src)?;
        let mut p = Parser { tokens, pos: 0 };
        let expr = p.expr()?;
        p.expect_end()?;
        Ok(Predicate {
            source: src.to_string(),
            expr,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates to a boolean; a non-boolean result is a type error.
    pub fn eval(&self, ctx: &dyn Context) -> Result<bool, EvalError> {
        match eval(&self.expr, ctx)? {
            Val::Bool(b) => Ok(b),
            v => Err(EvalError::Type(format!(
                "`{}` is a {} ({v}), not a true/false condition",
                self.source,
                v.type_name()
            ))),
        }
    }

    /// Every name the predicate refers to, sorted, without duplicates.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.expr.collect_names(&mut out);
        out.sort();
        out.dedup();
        out
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    /// Operators and punctuation, as written (`&&`, `and` become `&&`...).
    Op(&'static str),
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("number {}", Value::Num(*n)),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Ident(s) => format!("name `{s}`"),
            Tok::Op(o) => format!("`{o}`"),
            Tok::End => "end of input".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character column of the token's first character.
    col: usize,
}

const OPS: [&str; 18] = [
    "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "(", ")", "[", "]", ",",
];

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let (n, next) = lex_number(&chars, i)?;
            out.push(Token {
                tok: Tok::Num(n),
                col,
            });
            i = next;
        } else if c == '\'' || c == '"' {
            let (s, next) = lex_string(&chars, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                col,
            });
            i = next;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let tok = match word.as_str() {
                "and" => Tok::Op("&&"),
                "or" => Tok::Op("||"),
                "not" => Tok::Op("!"),
                _ => Tok::Ident(word),
            };
            out.push(Token { tok, col });
        } else {
            let op = OPS.iter().find(|op| {
                let n = op.chars().count();
                i + n <= chars.len() && chars[i..i + n].iter().copied().eq(op.chars())
            });
            match op {
                Some(op) => {
                    out.push(Token {
                        tok: Tok::Op(op),
                        col,
                    });
                    i += op.len();
                }
                None if c == '=' => {
                    return Err(ParseError {
                        column: col,
                        message: "expected `==` (a single `=` is not an operator)".into(),
                    });
                }
                None if c == '&' || c == '|' => {
                    return Err(ParseError {
                        column: col,
                        message: format!("expected `{c}{c}`"),
                    });
                }
                None => {
                    return Err(ParseError {
                        column: col,
                        message: format!(
                            "expected a number, a string, a name, an operator or a parenthesis, found `{c}`"
                        ),
                    });
                }
            }
        }
    }
    out.push(Token {
        tok: Tok::End,
        col: chars.len() + 1,
    });
    Ok(out)
}

fn lex_number(chars: &[char], start: usize) -> Result<(f64, usize), ParseError> {
    let mut i = start;
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_') {
        i += 1;
    }
    // Exponent: 1e6, 2.5E-3.
    if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
        let mut j = i + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_digit() {
            i = j;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
    if i < chars.len() && (chars[i].is_ascii_alphabetic() || chars[i] == '_') {
        return Err(ParseError {
            column: i + 1,
            message: format!(
                "expected an operator after number {text}, found `{}`",
                chars[i]
            ),
        });
    }
    text.parse::<f64>().map(|n| (n, i)).map_err(|_| ParseError {
        column: start + 1,
        message: format!("expected a number, found `{text}`"),
    })
}

fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let quote = chars[start];
    let mut i = start + 1;
    let mut s = String::new();
    while i < chars.len() {
        match chars[i] {
            c if c == quote => return Ok((s, i + 1)),
            '\\' if i + 1 < chars.len() => {
                s.push(chars[i + 1]);
                i += 2;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(ParseError {
        column: chars.len() + 1,
        message: format!(
            "expected closing {quote} for the string opened at column {}",
            start + 1
        ),
    })
}

// ---------------------------------------------------------------- parser

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Min,
    Max,
    Abs,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(Val),
    Name(String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Val>),
    Call(Func, Vec<Expr>),
}

impl Expr {
    fn collect_names(&self, out: &mut Vec<String>) {
        match self {
            Expr::Lit(_) => {}
            Expr::Name(n) => out.push(n.clone()),
            Expr::Not(e) | Expr::Neg(e) | Expr::In(e, _) => e.collect_names(out),
            Expr::Bin(_, a, b) => {
                a.collect_names(out);
                b.collect_names(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect_names(out)),
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn at_op(&self, op: &str) -> bool {
        matches!(self.peek().tok, Tok::Op(o) if o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.at_op(op);
        if hit {
            self.bump();
        }
        hit
    }

    fn error<T>(&self, expected: &str) -> Result<T, ParseError> {
        let t = self.peek();
        Err(ParseError {
            column: t.col,
            message: format!("expected {expected}, found {}", t.tok.describe()),
        })
    }

    fn expect_op(&mut self, op: &str, expected: &str) -> Result<(), ParseError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            self.error(expected)
        }
    }

    fn expect_end(&self) -> Result<(), ParseError> {
        match self.peek().tok {
            Tok::End => Ok(()),
            _ => self
                .error("an operator (`&&`, `||`, `==`, `<`, `+`, ...) or the end of the predicate"),
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.or()
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.and()?;
        while self.eat_op("||") {
            let rhs = self.and()?;
            lhs = Expr::Bin(BinOp::Or, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.not()?;
        while self.eat_op("&&") {
            let rhs = self.not()?;
            lhs = Expr::Bin(BinOp::And, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_op("!") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.sum()?;
        if matches!(&self.peek().tok, Tok::Ident(w) if w == "in") {
            self.bump();
            return Ok(Expr::In(Box::new(lhs), self.literal_list()?));
        }
        let op = match self.peek().tok {
            Tok::Op("==") => BinOp::Eq,
            Tok::Op("!=") => BinOp::Ne,
            Tok::Op("<") => BinOp::Lt,
            Tok::Op("<=") => BinOp::Le,
            Tok::Op(">") => BinOp::Gt,
            Tok::Op(">=") => BinOp::Ge,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = self.sum()?;
        Ok(Expr::Bin(op, Box::new(lhs), Box::new(rhs)))
    }

    fn literal_list(&mut self) -> Result<Vec<Val>, ParseError> {
        self.expect_op("[", "`[` starting the list after `in`")?;
        let mut out = vec![self.literal()?];
        while self.eat_op(",") {
            out.push(self.literal()?);
        }
        self.expect_op("]", "`,` or `]` closing the list")?;
        Ok(out)
    }

    fn literal(&mut self) -> Result<Val, ParseError> {
        let neg = self.eat_op("-");
        let t = self.peek().clone();
        let v = match (&t.tok, neg) {
            (Tok::Num(n), _) => Val::Num(if neg { -n } else { *n }),
            (Tok::Str(s), false) => Val::Str(s.clone()),
            (Tok::Ident(w), false) if w == "true" => Val::Bool(true),
            (Tok::Ident(w), false) if w == "false" => Val::Bool(false),
            (_, true) => return self.error("a number after `-`"),
            _ => return self.error("a literal (number, 'string', true or false)"),
        };
        self.bump();
        Ok(v)
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.product()?;
        loop {
            let op = if self.eat_op("+") {
                BinOp::Add
            } else if self.eat_op("-") {
                BinOp::Sub
            } else {
                return Ok(lhs);
            };
            let rhs = self.product()?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            let op = if self.eat_op("*") {
                BinOp::Mul
            } else if self.eat_op("/") {
                BinOp::Div
            } else {
                return Ok(lhs);
            };
            let rhs = self.unary()?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Num(n) => {
                self.bump();
                Ok(Expr::Lit(Val::Num(n)))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::Lit(Val::Str(s)))
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.bump();
                Ok(Expr::Lit(Val::Bool(w == "true")))
            }
            Tok::Ident(w) if w == "in" => self.error("a value before `in`"),
            Tok::Ident(w) => {
                self.bump();
                if self.at_op("(") {
                    self.call(&w, t.col)
                } else {
                    Ok(Expr::Name(w))
                }
            }
            Tok::Op("(") => {
                self.bump();
                let e = self.expr()?;
                self.expect_op(")", "`)` closing the parenthesis")?;
                Ok(e)
            }
            _ => self.error("a number, a 'string', a name, `-`, `!` or `(`"),
        }
    }

    fn call(&mut self, name: &str, col: usize) -> Result<Expr, ParseError> {
        let func = match name {
            "min" => Func::Min,
            "max" => Func::Max,
            "abs" => Func::Abs,
            _ => {
                return Err(ParseError {
                    column: col,
                    message: format!("expected a function name (min, max, abs), found `{name}`"),
                });
            }
        };
        self.bump(); // "("
        let mut args = vec![self.expr()?];
        while self.eat_op(",") {
            args.push(self.expr()?);
        }
        self.expect_op(")", "`,` or `)` closing the call")?;
        if func == Func::Abs && args.len() != 1 {
            return Err(ParseError {
                column: col,
                message: format!("expected one argument to abs, found {}", args.len()),
            });
        }
        Ok(Expr::Call(func, args))
    }
}

// ---------------------------------------------------------------- evaluator

fn eval(e: &Expr, ctx: &dyn Context) -> Result<Val, EvalError> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Name(n) => ctx.get(n).ok_or_else(|| EvalError::Unknown(n.clone())),
        Expr::Not(e) => Ok(Val::Bool(!as_bool(&eval(e, ctx)?, "!")?)),
        Expr::Neg(e) => Ok(Val::Num(-as_num(&eval(e, ctx)?, "-")?)),
        Expr::In(e, list) => {
            let v = eval(e, ctx)?;
            Ok(Val::Bool(list.iter().any(|l| values_equal(&v, l))))
        }
        Expr::Bin(BinOp::And, a, b) => Ok(Val::Bool(
            as_bool(&eval(a, ctx)?, "&&")? && as_bool(&eval(b, ctx)?, "&&")?,
        )),
        Expr::Bin(BinOp::Or, a, b) => Ok(Val::Bool(
            as_bool(&eval(a, ctx)?, "||")? || as_bool(&eval(b, ctx)?, "||")?,
        )),
        Expr::Bin(op, a, b) => binary(*op, eval(a, ctx)?, eval(b, ctx)?),
        Expr::Call(f, args) => call(*f, args, ctx),
    }
}

fn as_bool(v: &Val, op: &str) -> Result<bool, EvalError> {
    match v {
        Val::Bool(b) => Ok(*b),
        _ => Err(EvalError::Type(format!(
            "`{op}` needs true/false, found {} {v}",
            v.type_name()
        ))),
    }
}

fn as_num(v: &Val, op: &str) -> Result<f64, EvalError> {
    match v {
        Val::Num(n) => Ok(*n),
        _ => Err(EvalError::Type(format!(
            "`{op}` needs a number, found {} {v}",
            v.type_name()
        ))),
    }
}

fn values_equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        // A number param compared with a quoted number: `procs == '2'`.
        (Val::Num(x), Val::Str(s)) | (Val::Str(s), Val::Num(x)) => {
            s.trim().parse::<f64>().is_ok_and(|y| y == *x)
        }
        _ => false,
    }
}

fn binary(op: BinOp, a: Val, b: Val) -> Result<Val, EvalError> {
    let sym = match op {
        BinOp::Eq => return Ok(Val::Bool(values_equal(&a, &b))),
        BinOp::Ne => return Ok(Val::Bool(!values_equal(&a, &b))),
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::And | BinOp::Or => unreachable!("handled with short-circuit in eval"),
    };
    if let (Val::Str(x), Val::Str(y)) = (&a, &b) {
        let ord = x.cmp(y);
        return match op {
            BinOp::Lt => Ok(Val::Bool(ord.is_lt())),
            BinOp::Le => Ok(Val::Bool(ord.is_le())),
            BinOp::Gt => Ok(Val::Bool(ord.is_gt())),
            BinOp::Ge => Ok(Val::Bool(ord.is_ge())),
            _ => Err(EvalError::Type(format!(
                "`{sym}` needs numbers, found strings {a} and {b}"
            ))),
        };
    }
    let (x, y) = (as_num(&a, sym)?, as_num(&b, sym)?);
    Ok(match op {
        BinOp::Lt => Val::Bool(x < y),
        BinOp::Le => Val::Bool(x <= y),
        BinOp::Gt => Val::Bool(x > y),
        BinOp::Ge => Val::Bool(x >= y),
        BinOp::Add => Val::Num(x + y),
        BinOp::Sub => Val::Num(x - y),
        BinOp::Mul => Val::Num(x * y),
        _ => Val::Num(x / y),
    })
}

fn call(f: Func, args: &[Expr], ctx: &dyn Context) -> Result<Val, EvalError> {
    let name = match f {
        Func::Min => "min",
        Func::Max => "max",
        Func::Abs => "abs",
    };
    let mut nums = Vec::with_capacity(args.len());
    for a in args {
        nums.push(as_num(&eval(a, ctx)?, name)?);
    }
    Ok(Val::Num(match f {
        Func::Min => nums.iter().copied().fold(f64::INFINITY, f64::min),
        Func::Max => nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Func::Abs => nums[0].abs(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> MapContext {
        let mut params = Params::new();
        params.insert("conns".into(), Value::Num(100.0));
        params.insert("mode".into(), Value::Str("raw".into()));
        let mut metrics = BTreeMap::new();
        metrics.insert("threads_plateau".into(), 95.0);
        metrics.insert("probe_p99_us".into(), 1200.0);
        MapContext::new()
            .with_params(&params)
            .with_runtime("gmp")
            .with_metrics(&metrics)
    }

    fn ev(src: &str) -> Result<bool, EvalError> {
        Predicate::parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .eval(&ctx())
    }

    fn perr(src: &str) -> ParseError {
        match Predicate::parse(src) {
            Ok(p) => panic!("{src} parsed as {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn arithmetic_and_comparison_follow_precedence() {
        assert!(ev("threads_plateau >= 0.9 * conns").unwrap());
        assert!(!ev("threads_plateau >= 0.99 * conns").unwrap());
        assert!(ev("1 + 2 * 3 == 7").unwrap());
        assert!(ev("(1 + 2) * 3 == 9").unwrap());
        assert!(
            ev("10 - 4 - 3 == 3").unwrap(),
            "subtraction is left-associative"
        );
        assert!(
            ev("8 / 4 / 2 == 1").unwrap(),
            "division is left-associative"
        );
        assert!(ev("-2 * -3 == 6").unwrap());
        assert!(ev("1e3 == 1000 && 1_000 == 1000 && .5 == 0.5").unwrap());
    }

    #[test]
    fn boolean_operators_and_words() {
        assert!(ev("runtime == 'gmp' && mode == \"raw\"").unwrap());
        assert!(ev("runtime != 'gmp' || conns > 50").unwrap());
        assert!(ev("runtime == 'go' or conns > 50 and mode == 'raw'").unwrap());
        assert!(ev("not runtime == 'go'").unwrap());
        assert!(ev("!(conns < 1)").unwrap());
        assert!(ev("true && !false").unwrap());
    }

    #[test]
    fn in_lists_and_functions() {
        assert!(ev("runtime in ['gmp', 'go']").unwrap());
        assert!(!ev("conns in [1, 2, -3]").unwrap());
        assert!(ev("max(conns, threads_plateau) == 100").unwrap());
        assert!(ev("min(conns, threads_plateau, 7) == 7").unwrap());
        assert!(ev("abs(threads_plateau - conns) <= 5").unwrap());
    }

    #[test]
    fn short_circuit_skips_unknown_names() {
        assert!(!ev("runtime == 'go' && go_only > 1").unwrap());
        assert!(ev("runtime == 'gmp' || go_only > 1").unwrap());
    }

    #[test]
    fn unknown_name_is_its_own_error_kind() {
        assert_eq!(ev("go_only > 1"), Err(EvalError::Unknown("go_only".into())));
        assert!(matches!(ev("mode > 1"), Err(EvalError::Type(_))));
        assert!(
            matches!(ev("conns + 1"), Err(EvalError::Type(_))),
            "a number is not a condition"
        );
    }

    #[test]
    fn names_lists_every_reference() {
        let p = Predicate::parse("threads_plateau >= 0.9 * conns && runtime != 'tokio'").unwrap();
        assert_eq!(p.names(), vec!["conns", "runtime", "threads_plateau"]);
    }

    #[test]
    fn parse_errors_give_column_and_expectation() {
        let e = perr("threads >= ");
        assert_eq!(e.column, 12);
        assert!(e.message.contains("expected a number"), "{e}");
        assert!(e.message.contains("end of input"), "{e}");

        let e = perr("threads = 3");
        assert_eq!(e.column, 9);
        assert!(e.message.contains("`==`"), "{e}");

        let e = perr("(a > 1");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("`)`"), "{e}");

        let e = perr("a > 1 b");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("end of the predicate"), "{e}");

        let e = perr("runtime == 'go");
        assert!(e.message.contains("closing '"), "{e}");

        let e = perr("sqrt(a) > 1");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("min, max, abs"), "{e}");

        let e = perr("a in [1, b]");
        assert_eq!(e.column, 10);
        assert!(e.message.contains("literal"), "{e}");

        let e = perr("a & b");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("`&&`"), "{e}");

        let e = perr("a > 3x");
        assert_eq!(e.column, 6);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = perr("'é' == ");
        assert_eq!(e.column, 8);
    }
}
