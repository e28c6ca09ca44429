//! The `.env` format, read into zeroizing buffers with `${VAR}` taken from the loader's
//! snapshot — never from the process environment, which a load never reads behind its
//! snapshot's back.
//!
//! The grammar is dotenvy's (0.15), so files keep their meaning:
//! - `KEY=value` per line, `export KEY=value` too; blank lines and `#` comment lines skipped;
//!   keys start with a letter or `_`, then letters, digits, `_` and `.`;
//! - unquoted values end at the line's end or at whitespace followed by `#` (a comment);
//!   other text after whitespace is an error; `\` escapes the next character;
//! - `'single'` quotes keep their text as is; `"double"` quotes know the escapes `\\`, `\'`,
//!   `\"`, `\$`, `\ ` and `\n`; both may span lines; quoted and unquoted parts join
//!   (`a"b"c` is `abc`);
//! - `$NAME` and `${NAME}` outside single quotes are replaced by `NAME` from the snapshot
//!   (the environment and Agent files), else by an earlier line of the file, else by nothing;
//!   unlike dotenvy, `_` belongs to a `$NAME` (`$DB_HOST` is `DB_HOST`, not `DB` and `_HOST`).
//!
//! Values grow in [`Zeroizing`] buffers ([`append_zeroizing`]): no freed copy of a secret is
//! left behind, and the values are moved, not copied, into the snapshot.

use std::collections::HashMap;

use zeroize::{Zeroize, Zeroizing};

use crate::EnvSnapshot;
use crate::read::append_zeroizing;

/// Why a `.env` file cannot be read: the line where the entry that fails starts (1-based).
/// It never holds the line's text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub line: usize,
}

/// The variables of a `.env` file's `text`, in order; `${VAR}` from `env`.
pub(crate) fn parse(text: &str, env: &EnvSnapshot) -> Result<Vec<(String, String)>, ParseError> {
    let mut parser = Parser {
        rest: text,
        line: 1,
        env,
        vars: Vec::new(),
        index: HashMap::new(),
    };
    parser.entries()?;
    Ok(std::mem::take(&mut parser.vars))
}

struct Parser<'t> {
    /// The text not parsed yet.
    rest: &'t str,
    /// The line `rest` starts on.
    line: usize,
    env: &'t EnvSnapshot,
    vars: Vec<(String, String)>,
    /// Where each name is in `vars` (the last of a name wins, as for dotenvy's substitution).
    index: HashMap<String, usize>,
}

/// Values parsed before an error (or replaced by a later line of the same name) may be
/// secrets: wiped, not just freed.
impl Drop for Parser<'_> {
    fn drop(&mut self) {
        for (_, value) in &mut self.vars {
            value.zeroize();
        }
    }
}

impl Parser<'_> {
    fn entries(&mut self) -> Result<(), ParseError> {
        while !self.rest.is_empty() {
            let start = self.line;
            let fail = || ParseError { line: start };
            self.skip_blanks();
            if self.rest.is_empty() {
                break;
            }
            if self.rest.starts_with(['#', '\n', '\r']) {
                self.next_line();
                continue;
            }
            let mut key = self.key().ok_or_else(fail)?;
            self.skip_blanks();
            if key == "export" && !self.rest.starts_with('=') {
                key = self.key().ok_or_else(fail)?;
                self.skip_blanks();
            }
            self.rest = self.rest.strip_prefix('=').ok_or_else(fail)?;
            self.skip_blanks();
            // `KEY=` and `KEY=#...` are empty, as in dotenvy.
            let mut value = if self.rest.starts_with('#') {
                self.next_line();
                Zeroizing::new(Vec::new())
            } else {
                self.value().map_err(|()| fail())?
            };
            // Always UTF-8 (chars of the text and values of the snapshot); wiped if not.
            let value = String::from_utf8(std::mem::take(&mut *value)).map_err(|e| {
                e.into_bytes().zeroize();
                fail()
            })?;
            match self.index.get(&key) {
                Some(&at) => std::mem::replace(&mut self.vars[at].1, value).zeroize(),
                None => {
                    self.index.insert(key.clone(), self.vars.len());
                    self.vars.push((key, value));
                }
            }
        }
        Ok(())
    }

    fn skip_blanks(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    /// Skips to the start of the next line.
    fn next_line(&mut self) {
        match self.rest.find('\n') {
            Some(at) => {
                self.rest = &self.rest[at + 1..];
                self.line += 1;
            }
            None => self.rest = "",
        }
    }

    fn key(&mut self) -> Option<String> {
        if !self
            .rest
            .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        {
            return None;
        }
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(self.rest.len());
        let key = self.rest[..end].to_owned();
        self.rest = &self.rest[end..];
        Some(key)
    }

    // Split, each part would take and return all the states of the pass.
    // long: one pass over a value's characters through dotenvy's states (quotes, escapes, …)
    /// One value, up to the end of its (last) line, which is consumed.
    fn value(&mut self) -> Result<Zeroizing<Vec<u8>>, ()> {
        let mut out = Zeroizing::new(Vec::new());
        let mut name = String::new();
        let (mut single, mut double, mut escaped, mut ending) = (false, false, false, false);
        let mut substitution = Substitution::None;
        let mut chars = self.rest.char_indices();
        // The character that ended a `$NAME`, read again as itself.
        let mut again = None;
        let consumed = loop {
            let (at, c) = match again.take() {
                Some(next) => next,
                None => match chars.next() {
                    Some((at, '\n')) => {
                        self.line += 1;
                        (at, '\n')
                    }
                    Some(next) => next,
                    None => break self.rest.len(),
                },
            };
            let quoted = single || double;
            if c == '\n' && !quoted {
                break at + 1;
            }
            if c == '\r' && !quoted && self.rest[at + 1..].starts_with('\n') {
                continue;
            }
            if ending {
                match c {
                    ' ' | '\t' => continue,
                    '#' => {
                        // The comment runs to the line's end.
                        let Some(n) = self.rest[at..].find('\n') else {
                            break self.rest.len();
                        };
                        self.line += 1;
                        break at + n + 1;
                    }
                    _ => return Err(()),
                }
            } else if escaped {
                // dotenvy trims the line's end first: an escaped blank at the end is none.
                let after = &self.rest[at + c.len_utf8()..];
                if c.is_whitespace() && after.split('\n').next().unwrap_or("").trim().is_empty() {
                    escaped = false;
                    continue;
                }
                match c {
                    '\\' | '\'' | '"' | '$' | ' ' => push(&mut out, c),
                    'n' => push(&mut out, '\n'),
                    _ => return Err(()),
                }
                escaped = false;
            } else if single {
                if c == '\'' {
                    single = false;
                } else {
                    push(&mut out, c);
                }
            } else if substitution == Substitution::Braced {
                if c == '}' {
                    self.substitute(&std::mem::take(&mut name), &mut out);
                    substitution = Substitution::None;
                } else {
                    name.push(c);
                }
            } else if substitution == Substitution::Plain {
                if c.is_alphanumeric() || c == '_' {
                    name.push(c);
                } else if c == '{' && name.is_empty() {
                    substitution = Substitution::Braced;
                } else {
                    self.substitute(&std::mem::take(&mut name), &mut out);
                    substitution = Substitution::None;
                    again = Some((at, c));
                }
            } else {
                match c {
                    '$' => substitution = Substitution::Plain,
                    ' ' | '\t' if !double => ending = true,
                    '"' => double = !double,
                    '\\' => escaped = true,
                    '\'' if !double => single = true,
                    _ => push(&mut out, c),
                }
            }
        };
        // A `\` at the end of the line escapes nothing, as in dotenvy.
        if single || double || substitution == Substitution::Braced {
            return Err(());
        }
        if substitution == Substitution::Plain {
            self.substitute(&name, &mut out);
        }
        self.rest = &self.rest[consumed..];
        Ok(out)
    }

    /// Appends the value of `name`: the snapshot's, else an earlier line's, else nothing.
    fn substitute(&self, name: &str, out: &mut Zeroizing<Vec<u8>>) {
        let value = match self.env.own(name) {
            Some(Ok(value)) => value,
            _ => self
                .index
                .get(name)
                .map_or("", |&at| self.vars[at].1.as_str()),
        };
        append_zeroizing(out, value.as_bytes());
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Substitution {
    None,
    /// `$NAME`
    Plain,
    /// `${NAME}`
    Braced,
}

fn push(out: &mut Zeroizing<Vec<u8>>, c: char) {
    append_zeroizing(out, c.encode_utf8(&mut [0; 4]).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        parse(text, &EnvSnapshot::default()).unwrap()
    }

    fn one(text: &str) -> String {
        let mut all =
            parse(text, &EnvSnapshot::default()).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        assert_eq!(all.len(), 1, "{text:?}: {all:?}");
        all.pop().unwrap().1
    }

    #[test]
    fn values_as_dotenvy_reads_them() {
        for (text, value) in [
            ("A=plain", "plain"),
            ("A=  spaced  ", "spaced"),
            ("A=v # comment", "v"),
            ("A=v#not-a-comment", "v#not-a-comment"),
            ("A='single $B \\n'", "single $B \\n"),
            ("A=\"double \\\"q\\\" \\n\\$x\"", "double \"q\" \n$x"),
            ("A=a\"b c\"d", "ab cd"),
            ("A=\"two\nlines\"", "two\nlines"),
            ("A='two\nlines'", "two\nlines"),
            ("export A=exported", "exported"),
            ("A=", ""),
            ("A= # only a comment", ""),
            ("A=#no blank before", ""),
            ("A=esc\\ aped", "esc aped"),
            ("A=crlf\r\n", "crlf"),
            ("A=\"quoted\" # comment", "quoted"),
        ] {
            assert_eq!(one(text), value, "{text:?}");
        }
        let all = vars("# comment\n\nA=1\n  B = 2\nexport=3\nA=4\n");
        assert_eq!(
            all,
            [("A", "4"), ("B", "2"), ("export", "3")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn substitution_reads_the_snapshot_then_earlier_lines_never_the_process() {
        // PATH is set in every test process; the snapshot does not have it.
        let env = EnvSnapshot::from_iter([("HOST", "db.internal")]);
        let text = "PORT=5432\nURL=postgres://${HOST}:$PORT/app\nP=$PATH|${PATH}|'$HOST'\n";
        let all = parse(text, &env).unwrap();
        assert_eq!(all[1].1, "postgres://db.internal:5432/app");
        assert_eq!(all[2].1, "||$HOST");
        // The snapshot wins over the file, as the environment wins over `.env`.
        let env = EnvSnapshot::from_iter([("PORT", "6432")]);
        let all = parse("PORT=5432\nURL=:$PORT:$PORT$PORT\n", &env).unwrap();
        assert_eq!(all[1].1, ":6432:64326432");
    }

    #[test]
    fn errors_name_the_line_where_the_entry_starts() {
        for (text, line) in [
            ("A=1\nB='unclosed-canary\nC=3\n", 2),
            ("A=1\n\n=no-key\n", 3),
            ("A=two words\n", 1),
            ("A=\"bad \\q escape\"\n", 1),
            ("A=${UNCLOSED\n", 1),
            ("A=1\nB\n", 2),
            ("1A=x\n", 1),
        ] {
            assert_eq!(
                parse(text, &EnvSnapshot::default()),
                Err(ParseError { line }),
                "{text:?}"
            );
        }
    }

    /// Without `$` (substitution reads the process environment in dotenvy), every file
    /// dotenvy reads is read alike.
    #[test]
    fn agrees_with_dotenvy_on_generated_files() {
        let pieces = [
            "A", "b_1", "export ", "=", " ", "\t", "'", "\"", "\\", "\\n", "#", "x", "é", "\n",
            "\r\n", ".", "v w", "#c\n",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let mut agreed = 0;
        for _ in 0..20_000 {
            let mut text = String::from(["K", "export K", "_k.2"][rng.usize(..3)]);
            text.push('=');
            for _ in 0..rng.usize(0..8) {
                text.push_str(pieces[rng.usize(..pieces.len())]);
            }
            // dotenvy refuses a last line that ends in a blank without a newline.
            text.push('\n');
            // dotenvy's line reader takes a quote after `#` for an opening quote, and a `#`
            // after an escaped blank for a comment or not by the parity of the blanks between:
            // left out.
            let escaped_blank = text.contains("\\ ") || text.contains("\\\t");
            if text
                .find('#')
                .is_some_and(|h| text[h..].contains(['"', '\'']) || escaped_blank)
            {
                continue;
            }
            let ours = parse(&text, &EnvSnapshot::default()).ok();
            let theirs: Option<Vec<(String, String)>> = dotenvy::from_read_iter(text.as_bytes())
                .collect::<Result<_, _>>()
                .ok();
            // dotenvy keeps every assignment of a name; the last one counts.
            let theirs = theirs.map(|all| {
                let mut last: Vec<(String, String)> = Vec::new();
                for (k, v) in all {
                    match last.iter_mut().find(|(n, _)| *n == k) {
                        Some(slot) => slot.1 = v,
                        None => last.push((k, v)),
                    }
                }
                last
            });
            // Where dotenvy's line reader is lost (a quote in a comment), it refuses: ours
            // may read such a file. What dotenvy reads, ours reads alike.
            if let Some(theirs) = theirs {
                assert_eq!(ours, Some(theirs), "{text:?}");
                agreed += 1;
            }
        }
        assert!(agreed > 5_000, "only {agreed} files were dotenvy's");
    }
}
