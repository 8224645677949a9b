//! Positions in a document's text: LSP counts lines and UTF-16 units, Rust strings bytes.

use super::Position;

/// The byte offset in `text` of `position`, clamped: a line past the last is the end of the
/// text, a character past its line's end is the line's end, and one inside a character that
/// takes two UTF-16 units is that character's start. Lines end at `\n`, `\r\n` or `\r`.
pub fn offset(text: &str, position: Position) -> usize {
    let bytes = text.as_bytes();
    let mut start = 0;
    for _ in 0..position.line {
        match bytes[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            Some(at) => {
                let at = start + at;
                start = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                    at + 2
                } else {
                    at + 1
                };
            }
            None => return text.len(),
        }
    }
    let line = &text[start..];
    let line = &line[..line.find(['\n', '\r']).unwrap_or(line.len())];
    let mut units = 0;
    for (at, c) in line.char_indices() {
        units += c.len_utf16();
        if units > position.character as usize {
            return start + at;
        }
    }
    start + line.len()
}

/// The word (letters, digits, `_`) at `position`, or just before it (a cursor at a word's
/// end is on it); `None` elsewhere.
pub fn word_at(text: &str, position: Position) -> Option<&str> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let at = offset(text, position);
    let on = text[at..].chars().next().is_some_and(is_word);
    let before = text[..at].chars().next_back().is_some_and(is_word);
    if !on && !before {
        return None;
    }
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word(c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|&(_, c)| !is_word(c))
        .map_or(text.len(), |(i, _)| at + i);
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn positions_count_utf16_units_and_clamp() {
        let text = "ab\r\ncd\n\u{1F600}x\re";
        assert_eq!(offset(text, at(0, 1)), 1);
        assert_eq!(offset(text, at(0, 99)), 2);
        assert_eq!(offset(text, at(1, 0)), 4);
        // The emoji takes two UTF-16 units: its middle is its start.
        assert_eq!(offset(text, at(2, 1)), 7);
        assert_eq!(offset(text, at(2, 2)), 11);
        assert_eq!(offset(text, at(3, 0)), 13);
        assert_eq!(offset(text, at(9, 9)), text.len());
    }

    #[test]
    fn the_word_under_the_cursor() {
        let text = "let answer = 42;\n  héllo_wörld!";
        assert_eq!(word_at(text, at(0, 5)), Some("answer"));
        assert_eq!(word_at(text, at(0, 10)), Some("answer"));
        assert_eq!(word_at(text, at(0, 11)), None);
        assert_eq!(word_at(text, at(0, 13)), Some("42"));
        assert_eq!(word_at(text, at(1, 4)), Some("héllo_wörld"));
        assert_eq!(word_at(text, at(1, 0)), None);
        assert_eq!(word_at(text, at(7, 0)), None);
        assert_eq!(word_at("word", at(7, 0)), Some("word"));
        assert_eq!(word_at("", at(0, 0)), None);
    }
}
