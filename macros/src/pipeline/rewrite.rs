//! Inside a pipeline body, a call of a component or pipeline `f(a, name = b)` becomes a task:
//! `<f as Component>::args().__p0(a).name(b).__build()`.
//!
//! A call counts as a component call when its callee is a plain path whose segments are all
//! snake_case (`train`, `steps::train`) and that is not rooted in `std`, `core` or `alloc`.
//! Calls like `String::from(..)` or `vec![..]` are left alone.

use proc_macro2::TokenStream;
use quote::{format_ident, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprCall, ExprPath};

pub fn rewrite_body(block: &mut syn::Block) -> syn::Result<()> {
    let mut rewriter = Rewriter { error: None };
    rewriter.visit_block_mut(block);
    rewriter.error.map_or(Ok(()), Err)
}

struct Rewriter {
    error: Option<syn::Error>,
}

impl VisitMut for Rewriter {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        visit_mut::visit_expr_mut(self, expr);
        if let Expr::Call(call) = expr
            && let Expr::Path(callee) = &*call.func
            && is_component_path(callee)
        {
            match task_builder(call, callee) {
                Ok(tokens) => *expr = Expr::Verbatim(tokens),
                Err(e) => match &mut self.error {
                    Some(existing) => existing.combine(e),
                    None => self.error = Some(e),
                },
            }
        }
    }
}

fn is_component_path(callee: &ExprPath) -> bool {
    let path = &callee.path;
    if callee.qself.is_some() || path.leading_colon.is_some() {
        return false;
    }
    let first = path.segments.first().map(|s| s.ident.to_string()).unwrap_or_default();
    if matches!(first.as_str(), "std" | "core" | "alloc" | "kfp") {
        return false;
    }
    path.segments.iter().all(|s| {
        let ident = s.ident.to_string();
        s.arguments.is_none() && ident.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
    })
}

fn task_builder(call: &ExprCall, callee: &ExprPath) -> syn::Result<TokenStream> {
    let span = call.span();
    let path = &callee.path;
    let mut chain = quote_spanned!(span=> <#path as ::kfp::__private::Component>::args());
    let mut positional = 0usize;
    let mut named_seen = false;
    for arg in &call.args {
        match arg {
            Expr::Assign(assign) => {
                let Expr::Path(name) = &*assign.left else {
                    return Err(syn::Error::new_spanned(&assign.left, "name the input: `input = value`"));
                };
                let Some(name) = name.path.get_ident() else {
                    return Err(syn::Error::new_spanned(name, "name the input: `input = value`"));
                };
                let value = &assign.right;
                chain = quote_spanned!(value.span()=> #chain.#name(#value));
                named_seen = true;
            }
            value => {
                if named_seen {
                    return Err(syn::Error::new_spanned(value, "positional arguments must come before named ones"));
                }
                let setter = format_ident!("__p{}", positional, span = value.span());
                chain = quote_spanned!(value.span()=> #chain.#setter(#value));
                positional += 1;
            }
        }
    }
    Ok(quote_spanned!(span=> #chain.__build()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn rewritten(body: TokenStream) -> String {
        let mut block: syn::Block = syn::parse2(quote!({ #body })).unwrap();
        rewrite_body(&mut block).unwrap();
        quote!(#block).to_string()
    }

    #[test]
    fn component_calls_become_task_builders() {
        let out = rewritten(quote!(let t = train(data, lr = 0.1);));
        assert!(out.contains("< train as :: kfp :: __private :: Component > :: args () . __p0 (data) . lr (0.1) . __build ()"), "{out}");
    }

    #[test]
    fn nested_calls_are_rewritten_inside_out() {
        let out = rewritten(quote!(evaluate(train(data).outputs.model);));
        assert_eq!(out.matches("__build").count(), 2, "{out}");
    }

    #[test]
    fn other_calls_stay() {
        let out = rewritten(quote!(let s = String::from("x"); let v = std::cmp::max(1, 2); let w = Vec::<i64>::new();));
        assert!(!out.contains("__build"), "{out}");
    }

    #[test]
    fn positional_after_named_is_an_error() {
        let mut block: syn::Block = syn::parse2(quote!({ train(lr = 1.0, data); })).unwrap();
        let error = rewrite_body(&mut block).unwrap_err();
        assert!(error.to_string().contains("positional arguments must come before named ones"));
    }
}
