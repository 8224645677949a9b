//! A type's name as the user would write it, for the published records (`Vec<i64>`,
//! `[u8; 4]`, `fn(u8) -> bool`, `&'static str`).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;

/// `ty` printed with rustfmt's spacing: tokens are separated by one space except where Rust
/// style joins them (paths, generics, references, lifetimes, before `,` and `;`).
pub(crate) fn type_name(ty: &syn::Type) -> String {
    let mut out = String::new();
    write_tokens(&mut out, ty.to_token_stream());
    out
}

/// One printed piece: what it is matters for the spacing on either side of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Piece {
    Word,
    /// `mut`, `dyn`, `impl` and the like: spaced from a following group, unlike `fn(`.
    Keyword,
    /// `::`
    PathSep,
    /// `->`, `=>`, `+`, `=` and other operators spaced on both sides.
    Spaced,
    /// `<`, opening generics.
    Open,
    /// `>`, closing generics.
    Close,
    /// `,` or `;`.
    Separator,
    /// `&`, `*`, `'` and `!` in prefix position: joined to what follows.
    Prefix,
    /// A parenthesized or bracketed group.
    Group,
}

fn write_tokens(out: &mut String, tokens: TokenStream) {
    let mut prev: Option<Piece> = None;
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        let (text, piece) = match &tree {
            TokenTree::Ident(ident) => {
                let text = ident.to_string();
                let piece = match text.as_str() {
                    "mut" | "dyn" | "impl" | "const" | "as" | "unsafe" | "extern" => Piece::Keyword,
                    _ => Piece::Word,
                };
                (text, piece)
            }
            TokenTree::Literal(lit) => (lit.to_string(), Piece::Word),
            TokenTree::Group(group) => {
                let mut inner = String::new();
                write_tokens(&mut inner, group.stream());
                let text = match group.delimiter() {
                    Delimiter::Parenthesis => format!("({inner})"),
                    Delimiter::Bracket => format!("[{inner}]"),
                    Delimiter::Brace => format!("{{ {inner} }}"),
                    Delimiter::None => inner,
                };
                (text, Piece::Group)
            }
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                let next = match trees.peek() {
                    Some(TokenTree::Punct(next)) if punct.spacing() == Spacing::Joint => {
                        Some(next.as_char())
                    }
                    _ => None,
                };
                match (c, next) {
                    (':', Some(':')) => {
                        trees.next();
                        ("::".into(), Piece::PathSep)
                    }
                    ('-' | '=', Some('>')) => {
                        trees.next();
                        (format!("{c}>"), Piece::Spaced)
                    }
                    ('<', _) => ("<".into(), Piece::Open),
                    ('>', _) => (">".into(), Piece::Close),
                    (',' | ';', _) => (c.to_string(), Piece::Separator),
                    ('&' | '*' | '\'', _) => (c.to_string(), Piece::Prefix),
                    ('!', _) if prev.is_none() || prev == Some(Piece::Spaced) => {
                        ("!".into(), Piece::Prefix)
                    }
                    _ => (c.to_string(), Piece::Spaced),
                }
            }
        };
        if let Some(prev) = prev
            && spaced(prev, piece)
        {
            out.push(' ');
        }
        out.push_str(&text);
        prev = Some(piece);
    }
}

/// Whether a space goes between `prev` and `next`.
fn spaced(prev: Piece, next: Piece) -> bool {
    use Piece::*;
    match (prev, next) {
        (PathSep | Open | Prefix, _) => false,
        (_, PathSep | Close | Separator) => false,
        // `Vec<`, `fn(`, `Fn(`: generics and argument lists hug their name.
        (Word | Close, Open) | (Word, Group) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::type_name;

    fn name(ty: &str) -> String {
        type_name(&syn::parse_str(ty).unwrap())
    }

    #[test]
    fn prints_types_as_rustfmt_would() {
        for ty in [
            "Vec<i64>",
            "Option<Vec<(u8, String)>>",
            "::std::collections::HashMap<String, Vec<u8>>",
            "[u8; 4]",
            "&'static str",
            "&mut [u8]",
            "&mut (u8, u16)",
            "fn(u8) -> bool",
            "Box<dyn Fn(&str) -> Result<(), String> + Send + 'static>",
            "impl Iterator<Item = u8>",
            "<T as Trait>::Assoc",
            "(u8,)",
            "()",
            "*const u8",
            "fn() -> !",
            "r#type::Thing",
        ] {
            assert_eq!(name(ty), ty);
        }
    }

    #[test]
    fn normalises_the_users_spacing() {
        assert_eq!(name("Vec < i64 >"), "Vec<i64>");
        assert_eq!(name("[ u8 ;4 ]"), "[u8; 4]");
        assert_eq!(name("std :: vec :: Vec<u8>"), "std::vec::Vec<u8>");
    }
}
