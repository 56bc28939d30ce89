//! `key = value` attribute arguments, with duplicate and unknown keys reported on their tokens.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, LitStr, Token};

/// One `key = value` or `key(...)` argument.
pub struct Arg {
    pub key: Ident,
    pub value: ArgValue,
}

pub enum ArgValue {
    Expr(Expr),
    /// `key(a = 1, b = 2)`
    List(Vec<Arg>),
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let list = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
            return Ok(Arg { key, value: ArgValue::List(list.into_iter().collect()) });
        }
        input.parse::<Token![=]>()?;
        Ok(Arg { key, value: ArgValue::Expr(input.parse()?) })
    }
}

/// Parses the attribute's arguments and rejects duplicate keys.
pub fn parse_args(tokens: TokenStream) -> syn::Result<Vec<Arg>> {
    let args = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens)?;
    let args: Vec<Arg> = args.into_iter().collect();
    let mut errors = Errors::default();
    for (i, arg) in args.iter().enumerate() {
        if args[..i].iter().any(|earlier| earlier.key == arg.key) {
            errors.push(syn::Error::new_spanned(&arg.key, format!("`{}` is given twice", arg.key)));
        }
    }
    errors.finish()?;
    Ok(args)
}

impl Arg {
    pub fn expr(&self) -> syn::Result<&Expr> {
        match &self.value {
            ArgValue::Expr(e) => Ok(e),
            ArgValue::List(_) => Err(syn::Error::new_spanned(&self.key, format!("`{}` takes `= value`", self.key))),
        }
    }

    pub fn string(&self) -> syn::Result<LitStr> {
        match self.expr()? {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Ok(s.clone()),
            other => Err(syn::Error::new_spanned(other, format!("`{}` takes a string literal", self.key))),
        }
    }

    pub fn int(&self) -> syn::Result<u32> {
        match self.expr()? {
            Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse(),
            other => Err(syn::Error::new_spanned(other, format!("`{}` takes a whole number", self.key))),
        }
    }

    pub fn bool(&self) -> syn::Result<bool> {
        match self.expr()? {
            Expr::Lit(syn::ExprLit { lit: Lit::Bool(b), .. }) => Ok(b.value),
            other => Err(syn::Error::new_spanned(other, format!("`{}` takes `true` or `false`", self.key))),
        }
    }

    pub fn list(&self) -> syn::Result<&[Arg]> {
        match &self.value {
            ArgValue::List(list) => Ok(list),
            ArgValue::Expr(e) => {
                Err(syn::Error::new_spanned(e, format!("`{}` takes a list: `{}(NAME = \"value\", ...)`", self.key, self.key)))
            }
        }
    }

    pub fn unknown(&self, known: &[&str]) -> syn::Error {
        syn::Error::new_spanned(
            &self.key,
            format!("unknown argument `{}`; expected one of: {}", self.key, known.join(", ")),
        )
    }
}

/// Collects errors so that one expansion reports every mistake at once.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Keeps the value of `result` and records its error.
    pub fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
