//! The crm shell language: lexing (quotes, `\` continuations, comments) and parsing of one
//! logical line into a [`Command`]. Parsing only: nothing here looks at a CIB, a file or a
//! terminal. Applying commands is `crm::edit`; printing is `crm::render`.
//!
//! The syntax follows crmsh: `primitive vip ocf:heartbeat:IPaddr params ip=192.168.2.100`,
//! `group my_group vip gohttpd`, `location loc1 vip 100: node1`,
//! `location loc2 vip rule -inf: not_defined pingd or pingd lte 0`, `colocation c1 inf: a b`,
//! `order o1 Mandatory: a b symmetrical=false`, `property stonith-enabled=false`.

use std::fmt;

use super::cib::{
    BooleanOp, Colocation, ColocationSet, Expression, Location, Node, NvList, Op, Order, OrderKind,
    OrderSet, Primitive, ResourceSet, Rule,
};
use super::render::RSC_SET_MARKER;
use super::score::Score;

/// A place in the input: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// Line number, from 1.
    pub line: usize,
    /// Column number, from 1.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One word of input with quotes removed, and where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word, unquoted and unescaped.
    pub text: String,
    /// Where the word starts.
    pub pos: Pos,
}

/// One logical line: physical lines joined at `\` continuations, split into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where the line starts.
    pub pos: Pos,
    /// Its words; never empty.
    pub tokens: Vec<Token>,
}

/// A syntax error: where, what was expected, and a near keyword when one exists.
/// Nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where the offending word starts (or the end of the line when a word is missing).
    pub pos: Pos,
    /// What is wrong, lowercase, no final period.
    pub message: String,
    /// A near keyword or value the user probably meant.
    pub suggestion: Option<String>,
}

impl ParseError {
    fn new(pos: Pos, message: impl Into<String>) -> ParseError {
        ParseError {
            pos,
            message: message.into(),
            suggestion: None,
        }
    }

    fn suggest(mut self, word: &str, choices: &[&str]) -> ParseError {
        self.suggestion = did_you_mean(word, choices.iter().copied()).map(str::to_string);
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean \"{suggestion}\"?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// The nearest choice to `word` by edit distance, when close enough to be a typo
/// (at most 2 edits, and fewer than the word's length).
pub fn did_you_mean<'a>(word: &str, choices: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = 2.min(word.chars().count().saturating_sub(1)).max(1);
    choices
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| {
            (
                edit_distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// Splits text into logical lines. A `\` at the end of a physical line continues it; a line
/// whose first word starts with `#` is a comment; `"…"` quotes with `\"` and `\\` escapes,
/// `'…'` quotes literally, and quotes may sit inside a word (`ip="10.0.0.1"`).
pub fn lex(text: &str) -> Result<Vec<Line>, ParseError> {
    let mut lines = Vec::new();
    let mut tokens: Vec<Token> = Vec::new();
    let mut current: Option<Token> = None;
    let mut chars = text.chars().peekable();
    let (mut line, mut col) = (1usize, 1usize);
    let mut quote: Option<(char, Pos)> = None;
    let mut comment = false;
    let mut line_start: Option<Pos> = None;

    fn finish(current: &mut Option<Token>, tokens: &mut Vec<Token>) {
        if let Some(token) = current.take() {
            tokens.push(token);
        }
    }

    while let Some(c) = chars.next() {
        let pos = Pos { line, col };
        let advance = |line: &mut usize, col: &mut usize, c: char| {
            if c == '\n' {
                *line += 1;
                *col = 1;
            } else {
                *col += 1;
            }
        };
        advance(&mut line, &mut col, c);
        if comment {
            if c == '\n' {
                comment = false;
            }
            continue;
        }
        if let Some((q, _)) = quote {
            let token = current.as_mut().expect("a quote is always inside a word");
            if c == q {
                quote = None;
            } else if q == '"' && c == '\\' && matches!(chars.peek(), Some('"' | '\\')) {
                let next = chars.next().expect("peeked");
                advance(&mut line, &mut col, next);
                token.text.push(next);
            } else {
                token.text.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                // A backslash before the end of the line (trailing blanks allowed) continues it.
                let rest: String = chars.clone().take_while(|c| *c != '\n').collect();
                if rest.trim().is_empty() {
                    for skipped in chars.by_ref() {
                        advance(&mut line, &mut col, skipped);
                        if skipped == '\n' {
                            break;
                        }
                    }
                    finish(&mut current, &mut tokens);
                } else {
                    let next = chars.next().expect("rest is not empty");
                    advance(&mut line, &mut col, next);
                    current
                        .get_or_insert_with(|| Token {
                            text: String::new(),
                            pos,
                        })
                        .text
                        .push(next);
                }
            }
            '\n' => {
                finish(&mut current, &mut tokens);
                if !tokens.is_empty() {
                    lines.push(Line {
                        pos: line_start.take().expect("set with the first token"),
                        tokens: std::mem::take(&mut tokens),
                    });
                }
                line_start = None;
            }
            c if c.is_whitespace() => finish(&mut current, &mut tokens),
            '#' if current.is_none() && tokens.is_empty() => comment = true,
            '"' | '\'' => {
                line_start.get_or_insert(pos);
                current.get_or_insert_with(|| Token {
                    text: String::new(),
                    pos,
                });
                quote = Some((c, pos));
            }
            c => {
                line_start.get_or_insert(pos);
                current
                    .get_or_insert_with(|| Token {
                        text: String::new(),
                        pos,
                    })
                    .text
                    .push(c);
            }
        }
    }
    if let Some((q, pos)) = quote {
        return Err(ParseError::new(pos, format!("unterminated {q} quote")));
    }
    finish(&mut current, &mut tokens);
    if !tokens.is_empty() {
        lines.push(Line {
            pos: line_start.expect("set with the first token"),
            tokens,
        });
    }
    Ok(lines)
}

/// The shell's levels, as in crmsh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The top level: `crm(live)#`.
    Top,
    /// Configuration editing: `crm(live)configure#`.
    Configure,
    /// Resource actions.
    Resource,
    /// Node actions.
    Node,
    /// Resource agent information.
    Ra,
}

impl Level {
    /// The level's name as typed (`configure`); empty for the top level.
    pub fn name(self) -> &'static str {
        match self {
            Level::Top => "",
            Level::Configure => "configure",
            Level::Resource => "resource",
            Level::Node => "node",
            Level::Ra => "ra",
        }
    }

    /// The commands valid at this level, for help and completion.
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Level::Top => TOP_WORDS,
            Level::Configure => CONFIGURE_WORDS,
            Level::Resource => RESOURCE_WORDS,
            Level::Node => NODE_WORDS,
            Level::Ra => RA_WORDS,
        }
    }

    fn from_name(name: &str) -> Option<Level> {
        match name {
            "configure" => Some(Level::Configure),
            "resource" => Some(Level::Resource),
            "node" => Some(Level::Node),
            "ra" => Some(Level::Ra),
            _ => None,
        }
    }
}

const NAVIGATION_WORDS: &[&str] = &[
    "cd", "up", "end", "back", "quit", "exit", "bye", "help", "ls", "history",
];
const TOP_WORDS: &[&str] = &[
    "configure",
    "resource",
    "node",
    "ra",
    "status",
    "cd",
    "up",
    "end",
    "quit",
    "exit",
    "help",
    "history",
];
const CONFIGURE_WORDS: &[&str] = &[
    "node",
    "primitive",
    "group",
    "clone",
    "location",
    "colocation",
    "order",
    "property",
    "rsc_defaults",
    "op_defaults",
    "delete",
    "rename",
    "erase",
    "show",
    "verify",
    "commit",
    "refresh",
    "load",
    "edit",
    "cd",
    "up",
    "end",
    "quit",
    "help",
    "history",
];
const RESOURCE_WORDS: &[&str] = &[
    "status", "start", "stop", "restart", "move", "ban", "clear", "cleanup", "locate", "manage",
    "unmanage", "cd", "up", "end", "quit", "help",
];
const NODE_WORDS: &[&str] = &[
    "show",
    "list",
    "standby",
    "online",
    "maintenance",
    "ready",
    "attribute",
    "cd",
    "up",
    "end",
    "quit",
    "help",
];
const RA_WORDS: &[&str] = &[
    "classes", "list", "info", "meta", "cd", "up", "end", "quit", "help",
];

/// Resource classes the language accepts.
pub const CLASSES: &[&str] = &["ocf", "lsb", "systemd", "service", "stonith"];

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `configure`, `cd configure`: go to a level.
    Enter(Level),
    /// `up`, `cd ..`: one level up.
    Up,
    /// `end`, `back`: leave the current level (same as `up`).
    End,
    /// `quit`, `exit`, `bye`.
    Quit,
    /// `help [TOPIC]`.
    Help(Option<String>),
    /// `history`: the commands typed so far.
    History,
    /// `status`: the cluster's state.
    Status,
    /// A configure-level command.
    Configure(ConfigureCommand),
    /// A resource-level command.
    Resource(ResourceCommand),
    /// A node-level command.
    Node(NodeCommand),
    /// An ra-level command.
    Ra(RaCommand),
}

/// Commands of the configure level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigureCommand {
    /// A change to the staged CIB.
    Change(Change),
    /// `show [ID…|json|xml|changed]`.
    Show(ShowWhat),
    /// `verify`.
    Verify,
    /// `commit [force]`: force commits despite verify errors or a concurrent change.
    Commit {
        /// Ignore verify errors and version conflicts.
        force: bool,
    },
    /// `refresh`: drop staged changes.
    Refresh,
    /// `load [xml] replace|update FILE|-`.
    Load {
        /// The file is Pacemaker CIB XML rather than crm text.
        xml: bool,
        /// Replace the configuration or update it.
        mode: LoadMode,
        /// A path, or `-` for standard input.
        source: String,
    },
    /// `edit [ID]`: the crm text in `$EDITOR`.
    Edit(Option<String>),
}

/// What `show` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowWhat {
    /// The whole configuration in crm syntax.
    All,
    /// These objects.
    Ids(Vec<String>),
    /// The CIB as JSON.
    Json,
    /// The CIB as Pacemaker XML.
    Xml,
    /// The staged, uncommitted objects.
    Changed,
}

/// How `load` combines the file with the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// Erase the configuration first.
    Replace,
    /// Objects in the file replace those with the same id; others stay.
    Update,
}

/// A change to the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `node [ID:] UNAME[:TYPE] [attributes …] [utilization …]`.
    Node(Node),
    /// `primitive ID AGENT [params …] [meta …] [utilization …] [op NAME …]…`.
    Primitive(Primitive),
    /// `group ID RSC… [meta …] [params …]`.
    Group(GroupDef),
    /// `clone ID RSC [meta …] [params …]`.
    Clone(CloneDef),
    /// `location …`.
    Location(Location),
    /// `colocation …`.
    Colocation(Colocation),
    /// `order …`.
    Order(Order),
    /// `colocation …` with resource sets.
    ColocationSet(ColocationSet),
    /// `order …` with resource sets.
    OrderSet(OrderSet),
    /// `property NAME=VALUE…`.
    Property(NvList),
    /// `rsc_defaults NAME=VALUE…`.
    RscDefaults(NvList),
    /// `op_defaults NAME=VALUE…`.
    OpDefaults(NvList),
    /// `delete [--force] ID…`.
    Delete {
        /// Objects to delete.
        ids: Vec<String>,
        /// Delete even running resources.
        force: bool,
    },
    /// `rename OLD NEW`.
    Rename {
        /// Current id.
        from: String,
        /// New id.
        to: String,
    },
    /// `erase [nodes]`.
    Erase {
        /// Remove the nodes too.
        nodes: bool,
    },
}

impl Change {
    /// The id the change defines, when it defines one object.
    pub fn defined_id(&self) -> Option<&str> {
        match self {
            Change::Node(n) => Some(&n.uname),
            Change::Primitive(p) => Some(&p.id),
            Change::Group(g) => Some(&g.id),
            Change::Clone(c) => Some(&c.id),
            Change::Location(l) => Some(&l.id),
            Change::Colocation(c) => Some(&c.id),
            Change::Order(o) => Some(&o.id),
            Change::ColocationSet(c) => Some(&c.id),
            Change::OrderSet(o) => Some(&o.id),
            _ => None,
        }
    }
}

/// A group as written: its members by id (the primitives already exist).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupDef {
    /// Group id.
    pub id: String,
    /// Member ids in order.
    pub members: Vec<String>,
    /// Meta attributes.
    pub meta: NvList,
    /// Instance attributes.
    pub params: NvList,
}

/// A clone as written: the cloned resource by id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloneDef {
    /// Clone id.
    pub id: String,
    /// The cloned primitive or group.
    pub child: String,
    /// Meta attributes.
    pub meta: NvList,
    /// Instance attributes.
    pub params: NvList,
}

/// Commands of the resource level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceCommand {
    /// `status [ID]`.
    Status(Option<String>),
    /// `start ID`: target-role=Started.
    Start(String),
    /// `stop ID`: target-role=Stopped.
    Stop(String),
    /// `manage ID`: is-managed=true.
    Manage(String),
    /// `unmanage ID`: is-managed=false.
    Unmanage(String),
    /// `restart ID`: stop, wait for the stop, start (live cluster only).
    Restart(String),
    /// `move ID [NODE] [lifetime=DURATION]`: location constraint `cli-prefer-ID`.
    Move {
        /// Resource id.
        rsc: String,
        /// Target node; none bans the current node.
        node: Option<String>,
        /// ISO 8601 duration after which the constraint stops applying.
        lifetime: Option<String>,
    },
    /// `ban ID [NODE] [lifetime=DURATION]`: location constraint `cli-ban-ID-on-NODE`.
    Ban {
        /// Resource id.
        rsc: String,
        /// Node to keep it off; none means the current node.
        node: Option<String>,
        /// ISO 8601 duration after which the constraint stops applying.
        lifetime: Option<String>,
    },
    /// `clear ID [NODE]`: removes the move and ban constraints of ID.
    Clear {
        /// Resource id.
        rsc: String,
        /// Only those about this node.
        node: Option<String>,
    },
    /// `cleanup ID [NODE]`: forgets failures and operation history.
    Cleanup {
        /// Resource id.
        rsc: String,
        /// Only on this node.
        node: Option<String>,
    },
    /// `locate ID`: where it runs.
    Locate(String),
}

/// Commands of the node level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeCommand {
    /// `show`/`list`: configured nodes.
    Show,
    /// `standby [NODE]`: standby=on.
    Standby(Option<String>),
    /// `online [NODE]`: standby=off.
    Online(Option<String>),
    /// `maintenance [NODE]`: maintenance=on.
    Maintenance(Option<String>),
    /// `ready [NODE]`: maintenance=off.
    Ready(Option<String>),
    /// `attribute NODE set NAME VALUE` / `delete NAME` / `show NAME`.
    Attribute {
        /// Node name.
        node: String,
        /// What to do.
        action: AttributeAction,
        /// Attribute name.
        name: String,
    },
}

/// What `node attribute` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeAction {
    /// Set to this value.
    Set(String),
    /// Remove.
    Delete,
    /// Print.
    Show,
}

/// Commands of the ra level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaCommand {
    /// `classes`.
    Classes,
    /// `list CLASS [PROVIDER]`.
    List {
        /// Agent class.
        class: String,
        /// OCF provider filter.
        provider: Option<String>,
    },
    /// `info AGENT` (also `meta AGENT`).
    Info(String),
}

/// Word cursor over one line with position-aware errors.
struct Words<'a> {
    tokens: &'a [Token],
    next: usize,
    end: Pos,
}

impl<'a> Words<'a> {
    fn new(line: &'a Line, skip: usize) -> Words<'a> {
        let end = line
            .tokens
            .last()
            .map(|t| Pos {
                line: t.pos.line,
                col: t.pos.col + t.text.chars().count() + 1,
            })
            .unwrap_or(line.pos);
        Words {
            tokens: &line.tokens,
            next: skip,
            end,
        }
    }

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.next)
    }

    fn peek_text(&self) -> Option<&'a str> {
        self.peek().map(|t| t.text.as_str())
    }

    fn take(&mut self) -> Option<&'a Token> {
        let token = self.tokens.get(self.next)?;
        self.next += 1;
        Some(token)
    }

    fn expect(&mut self, what: &str) -> Result<&'a Token, ParseError> {
        self.take()
            .ok_or_else(|| ParseError::new(self.end, format!("expected {what}")))
    }

    fn expect_id(&mut self, what: &str) -> Result<String, ParseError> {
        let token = self.expect(what)?;
        check_id(token)?;
        Ok(token.text.clone())
    }

    fn here(&self) -> Pos {
        self.peek().map(|t| t.pos).unwrap_or(self.end)
    }

    fn finish(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(ParseError::new(t.pos, format!("unexpected \"{}\"", t.text))),
        }
    }
}

fn check_id(token: &Token) -> Result<(), ParseError> {
    let text = &token.text;
    let mut chars = text.chars();
    let valid = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(ParseError::new(
            token.pos,
            format!(
                "invalid id \"{text}\" (ids start with a letter or _ and hold letters, digits, _ - .)"
            ),
        ))
    }
}

/// Parses one logical line at `level`.
pub fn parse(level: Level, line: &Line) -> Result<Command, ParseError> {
    let first = &line.tokens[0];
    let word = first.text.as_str();
    if let Some(command) = parse_navigation(level, line)? {
        return Ok(command);
    }
    match level {
        Level::Top => {
            let target = Level::from_name(word);
            match (target, line.tokens.len()) {
                (Some(target), 1) => Ok(Command::Enter(target)),
                (Some(target), _) => parse_at(target, line, 1),
                (None, _) if word == "status" => {
                    Words::new(line, 1).finish()?;
                    Ok(Command::Status)
                }
                (None, _) => Err(unknown_command(first, level)),
            }
        }
        _ => parse_at(level, line, 0),
    }
}

fn unknown_command(token: &Token, level: Level) -> ParseError {
    let where_ = match level {
        Level::Top => "at the top level".to_string(),
        other => format!("at the {} level", other.name()),
    };
    ParseError::new(
        token.pos,
        format!("unknown command \"{}\" {where_}", token.text),
    )
    .suggest(&token.text, level.commands())
}

fn parse_navigation(level: Level, line: &Line) -> Result<Option<Command>, ParseError> {
    let first = &line.tokens[0];
    let mut words = Words::new(line, 1);
    let command = match first.text.as_str() {
        "cd" => {
            let target = words.take();
            words.finish()?;
            match target.map(|t| t.text.as_str()) {
                None | Some("/") => Command::Enter(Level::Top),
                Some("..") => Command::Up,
                Some(name) => match Level::from_name(name.trim_start_matches('/')) {
                    Some(target) => Command::Enter(target),
                    None => {
                        let token = target.expect("matched Some");
                        return Err(ParseError::new(
                            token.pos,
                            format!("no level \"{name}\" (levels: configure, resource, node, ra)"),
                        )
                        .suggest(name, &["configure", "resource", "node", "ra"]));
                    }
                },
            }
        }
        "up" | ".." => {
            words.finish()?;
            Command::Up
        }
        "end" | "back" => {
            words.finish()?;
            Command::End
        }
        "quit" | "exit" | "bye" => {
            words.finish()?;
            Command::Quit
        }
        "help" | "?" => {
            let topic = words.take().map(|t| t.text.clone());
            words.finish()?;
            Command::Help(topic)
        }
        "history" => {
            words.finish()?;
            Command::History
        }
        "ls" => Command::Help(None),
        // `node` and `show` are also commands inside levels; only the level switch is here.
        _ => return Ok(None),
    };
    let _ = level;
    Ok(Some(command))
}

fn parse_at(level: Level, line: &Line, skip: usize) -> Result<Command, ParseError> {
    let mut words = Words::new(line, skip);
    let first = words.expect("a command")?;
    match level {
        Level::Top => Err(unknown_command(first, level)),
        Level::Configure => parse_configure(first, &mut words).map(Command::Configure),
        Level::Resource => parse_resource(first, &mut words).map(Command::Resource),
        Level::Node => parse_node_command(first, &mut words).map(Command::Node),
        Level::Ra => parse_ra(first, &mut words).map(Command::Ra),
    }
}

fn parse_resource(first: &Token, words: &mut Words<'_>) -> Result<ResourceCommand, ParseError> {
    let command = match first.text.as_str() {
        "status" | "show" | "list" => ResourceCommand::Status(words.take().map(|t| t.text.clone())),
        "start" => ResourceCommand::Start(words.expect_id("a resource id")?),
        "stop" => ResourceCommand::Stop(words.expect_id("a resource id")?),
        "manage" => ResourceCommand::Manage(words.expect_id("a resource id")?),
        "unmanage" => ResourceCommand::Unmanage(words.expect_id("a resource id")?),
        "restart" => ResourceCommand::Restart(words.expect_id("a resource id")?),
        "locate" => ResourceCommand::Locate(words.expect_id("a resource id")?),
        "move" | "migrate" | "ban" => {
            let rsc = words.expect_id("a resource id")?;
            let mut node = None;
            let mut lifetime = None;
            while let Some(token) = words.take() {
                let text = token.text.as_str();
                if let Some(value) = text
                    .strip_prefix("lifetime=")
                    .or_else(|| text.strip_prefix("--lifetime="))
                {
                    lifetime = Some(value.to_string());
                } else if text == "--lifetime" {
                    lifetime = Some(words.expect("a duration, e.g. PT1H")?.text.clone());
                } else if node.is_none() && lifetime.is_none() && !text.starts_with('P') {
                    node = Some(token.text.clone());
                } else if lifetime.is_none() && text.starts_with('P') {
                    // crmsh's positional form: `move RSC [NODE] [LIFETIME]`.
                    lifetime = Some(token.text.clone());
                } else {
                    return Err(ParseError::new(
                        token.pos,
                        format!("unexpected \"{text}\" (expected NODE and lifetime=DURATION)"),
                    ));
                }
            }
            if first.text == "ban" {
                ResourceCommand::Ban {
                    rsc,
                    node,
                    lifetime,
                }
            } else {
                ResourceCommand::Move {
                    rsc,
                    node,
                    lifetime,
                }
            }
        }
        "clear" | "unmove" | "unmigrate" | "unban" => ResourceCommand::Clear {
            rsc: words.expect_id("a resource id")?,
            node: words.take().map(|t| t.text.clone()),
        },
        "cleanup" | "refresh" => ResourceCommand::Cleanup {
            rsc: words.expect_id("a resource id")?,
            node: words.take().map(|t| t.text.clone()),
        },
        _ => return Err(unknown_command(first, Level::Resource)),
    };
    words.finish()?;
    Ok(command)
}

fn parse_node_command(first: &Token, words: &mut Words<'_>) -> Result<NodeCommand, ParseError> {
    let command = match first.text.as_str() {
        "show" | "list" => NodeCommand::Show,
        "standby" => NodeCommand::Standby(words.take().map(|t| t.text.clone())),
        "online" => NodeCommand::Online(words.take().map(|t| t.text.clone())),
        "maintenance" => NodeCommand::Maintenance(words.take().map(|t| t.text.clone())),
        "ready" => NodeCommand::Ready(words.take().map(|t| t.text.clone())),
        "attribute" => {
            let node = words.expect("a node name")?.text.clone();
            let verb = words.expect("set, delete or show")?;
            let name = words.expect("an attribute name")?.text.clone();
            let action = match verb.text.as_str() {
                "set" => AttributeAction::Set(words.expect("a value")?.text.clone()),
                "delete" => AttributeAction::Delete,
                "show" => AttributeAction::Show,
                other => {
                    return Err(ParseError::new(
                        verb.pos,
                        format!(
                            "unknown attribute action \"{other}\" (expected set, delete, show)"
                        ),
                    )
                    .suggest(other, &["set", "delete", "show"]));
                }
            };
            NodeCommand::Attribute { node, action, name }
        }
        _ => return Err(unknown_command(first, Level::Node)),
    };
    words.finish()?;
    Ok(command)
}

fn parse_ra(first: &Token, words: &mut Words<'_>) -> Result<RaCommand, ParseError> {
    let command = match first.text.as_str() {
        "classes" => RaCommand::Classes,
        "list" => RaCommand::List {
            class: words
                .expect("a class (ocf, lsb, systemd, service, stonith)")?
                .text
                .clone(),
            provider: words.take().map(|t| t.text.clone()),
        },
        "info" | "meta" => RaCommand::Info(words.expect("an agent")?.text.clone()),
        _ => return Err(unknown_command(first, Level::Ra)),
    };
    words.finish()?;
    Ok(command)
}

fn parse_configure(first: &Token, words: &mut Words<'_>) -> Result<ConfigureCommand, ParseError> {
    use ConfigureCommand as C;
    let command = match first.text.as_str() {
        "node" => C::Change(Change::Node(parse_node(words)?)),
        "primitive" => C::Change(Change::Primitive(parse_primitive(words)?)),
        "group" => C::Change(Change::Group(parse_group(words)?)),
        "clone" => C::Change(Change::Clone(parse_clone(words)?)),
        "location" => C::Change(Change::Location(parse_location(words)?)),
        "colocation" | "collocation" => C::Change(parse_colocation(words)?),
        "order" => C::Change(parse_order(words)?),
        "property" => C::Change(Change::Property(parse_option_set(words, "property")?)),
        "rsc_defaults" => C::Change(Change::RscDefaults(parse_option_set(
            words,
            "rsc_defaults",
        )?)),
        "op_defaults" => C::Change(Change::OpDefaults(parse_option_set(words, "op_defaults")?)),
        "delete" | "rm" => {
            let mut force = false;
            let mut ids = Vec::new();
            while let Some(token) = words.take() {
                if token.text == "--force" || token.text == "force" {
                    force = true;
                } else {
                    check_id(token)?;
                    ids.push(token.text.clone());
                }
            }
            if ids.is_empty() {
                return Err(ParseError::new(words.end, "expected an id to delete"));
            }
            C::Change(Change::Delete { ids, force })
        }
        "rename" => {
            let from = words.expect_id("the current id")?;
            let to = words.expect_id("the new id")?;
            C::Change(Change::Rename { from, to })
        }
        "erase" => {
            let nodes = match words.take() {
                None => false,
                Some(t) if t.text == "nodes" => true,
                Some(t) => {
                    return Err(ParseError::new(
                        t.pos,
                        format!("unexpected \"{}\" (erase takes only \"nodes\")", t.text),
                    ));
                }
            };
            C::Change(Change::Erase { nodes })
        }
        "show" => {
            let mut ids = Vec::new();
            let mut what = ShowWhat::All;
            while let Some(token) = words.take() {
                match token.text.as_str() {
                    "json" if ids.is_empty() => what = ShowWhat::Json,
                    "xml" if ids.is_empty() => what = ShowWhat::Xml,
                    "changed" if ids.is_empty() => what = ShowWhat::Changed,
                    id => ids.push(id.to_string()),
                }
            }
            if !ids.is_empty() {
                if what != ShowWhat::All {
                    return Err(ParseError::new(
                        first.pos,
                        "show takes ids or one of json, xml, changed, not both",
                    ));
                }
                what = ShowWhat::Ids(ids);
            }
            C::Show(what)
        }
        "verify" => C::Verify,
        "commit" => {
            let force = words.peek_text() == Some("force");
            if force {
                words.take();
            }
            C::Commit { force }
        }
        "refresh" => C::Refresh,
        "load" => {
            let mut token = words.expect("replace or update")?;
            let xml = token.text == "xml";
            if xml {
                token = words.expect("replace or update")?;
            }
            let mode = match token.text.as_str() {
                "replace" => LoadMode::Replace,
                "update" => LoadMode::Update,
                other => {
                    return Err(ParseError::new(
                        token.pos,
                        format!("unknown load method \"{other}\" (expected replace or update)"),
                    )
                    .suggest(other, &["replace", "update"]));
                }
            };
            let source = words.expect("a file name or -")?.text.clone();
            C::Load { xml, mode, source }
        }
        "edit" => C::Edit(words.take().map(|t| t.text.clone())),
        _ => {
            return Err(unknown_command(first, Level::Configure));
        }
    };
    words.finish()?;
    Ok(command)
}

/// Reads `NAME=VALUE` words into `list` until a word without `=`.
fn parse_pairs(words: &mut Words<'_>, list: &mut NvList, after: &str) -> Result<(), ParseError> {
    let start = words.next;
    while let Some(token) = words.peek() {
        let Some((name, value)) = token.text.split_once('=') else {
            break;
        };
        if name.is_empty() {
            return Err(ParseError::new(
                token.pos,
                format!("missing attribute name before \"=\" in \"{}\"", token.text),
            ));
        }
        list.set(name, value);
        words.take();
    }
    if words.next == start {
        return Err(ParseError::new(
            words.here(),
            format!("expected NAME=VALUE after {after}"),
        ));
    }
    Ok(())
}

fn parse_node(words: &mut Words<'_>) -> Result<Node, ParseError> {
    let mut node = Node::default();
    let mut token = words.expect("a node name")?;
    if let Some(id) = token.text.strip_prefix("$id=") {
        node.id = id.to_string();
        token = words.expect("a node name")?;
    } else if let Some(id) = token.text.strip_suffix(':') {
        node.id = id.to_string();
        token = words.expect("a node name")?;
    }
    let (uname, kind) = match token.text.split_once(':') {
        Some((uname, kind)) => (uname, Some(kind.to_string())),
        None => (token.text.as_str(), None),
    };
    if uname.is_empty() {
        return Err(ParseError::new(token.pos, "empty node name"));
    }
    node.uname = uname.to_string();
    node.kind = kind;
    if node.id.is_empty() {
        node.id = node.uname.clone();
    }
    while let Some(token) = words.take() {
        match token.text.as_str() {
            "attributes" => parse_pairs(words, &mut node.attributes, "attributes")?,
            "utilization" => parse_pairs(words, &mut node.utilization, "utilization")?,
            other => {
                return Err(ParseError::new(
                    token.pos,
                    format!("unexpected \"{other}\" in node (expected attributes or utilization)"),
                )
                .suggest(other, &["attributes", "utilization"]));
            }
        }
    }
    Ok(node)
}

/// Splits an agent spec: `IPaddr` (ocf:heartbeat), `lsb:gohttpd`, `ocf:pacemaker:Dummy`.
pub fn parse_agent(text: &str) -> Result<(String, Option<String>, String), String> {
    let parts: Vec<&str> = text.split(':').collect();
    let unknown_class = |class: &str| {
        let mut message = format!(
            "unknown resource class \"{class}\" (expected {})",
            CLASSES.join(", ")
        );
        if let Some(near) = did_you_mean(class, CLASSES.iter().copied()) {
            message.push_str(&format!("; did you mean \"{near}\"?"));
        }
        message
    };
    match parts.as_slice() {
        [kind] if !kind.is_empty() => {
            Ok(("ocf".into(), Some("heartbeat".into()), kind.to_string()))
        }
        ["ocf", kind] if !kind.is_empty() => {
            Ok(("ocf".into(), Some("heartbeat".into()), kind.to_string()))
        }
        [class, kind] if !kind.is_empty() => {
            if CLASSES.contains(class) {
                Ok((class.to_string(), None, kind.to_string()))
            } else {
                Err(unknown_class(class))
            }
        }
        ["ocf", provider, kind] if !provider.is_empty() && !kind.is_empty() => {
            Ok(("ocf".into(), Some(provider.to_string()), kind.to_string()))
        }
        [class, _, _] if !CLASSES.contains(class) => Err(unknown_class(class)),
        [class, _, _] => Err(format!(
            "class \"{class}\" takes no provider (only ocf agents have one)"
        )),
        _ => Err(format!(
            "invalid agent \"{text}\" (expected CLASS:PROVIDER:TYPE, CLASS:TYPE or TYPE)"
        )),
    }
}

fn parse_primitive(words: &mut Words<'_>) -> Result<Primitive, ParseError> {
    let id = words.expect_id("a resource id")?;
    let agent = words.expect("an agent, e.g. ocf:heartbeat:IPaddr")?;
    if agent.text.starts_with('@') {
        return Err(ParseError::new(
            agent.pos,
            "resource templates (@TEMPLATE) are not supported",
        ));
    }
    let (class, provider, kind) = parse_agent(&agent.text).map_err(|message| {
        let mut error = ParseError::new(agent.pos, message.clone());
        if let Some((text, near)) = message.split_once("; did you mean \"") {
            error.message = text.to_string();
            error.suggestion = Some(near.trim_end_matches("\"?").to_string());
        }
        error
    })?;
    let mut primitive = Primitive {
        id,
        class,
        provider,
        kind,
        ..Primitive::default()
    };
    // Bare NAME=VALUE words right after the agent are parameters, as in crmsh.
    if words.peek_text().is_some_and(|t| t.contains('=')) {
        parse_pairs(words, &mut primitive.params, "the agent")?;
    }
    const SECTIONS: &[&str] = &["params", "meta", "utilization", "op"];
    while let Some(token) = words.take() {
        match token.text.as_str() {
            "params" => parse_pairs(words, &mut primitive.params, "params")?,
            "meta" => parse_pairs(words, &mut primitive.meta, "meta")?,
            "utilization" => parse_pairs(words, &mut primitive.utilization, "utilization")?,
            "op" => {
                let name = words.expect("an operation name, e.g. monitor")?;
                if name.text.contains('=') {
                    return Err(ParseError::new(
                        name.pos,
                        format!("expected an operation name before \"{}\"", name.text),
                    ));
                }
                let mut attrs = NvList::new();
                if words.peek_text().is_some_and(|t| t.contains('=')) {
                    parse_pairs(words, &mut attrs, "op")?;
                }
                let id = attrs.remove("id");
                // As crmsh does: Pacemaker requires an interval, and 0 is what it means.
                attrs.set_if_absent("interval", "0");
                // crmsh's `op_params`: agent parameters for this operation only.
                let mut params = NvList::new();
                if words.peek_text() == Some("op_params") {
                    words.take();
                    parse_pairs(words, &mut params, "op_params")?;
                }
                primitive.ops.push(Op {
                    id,
                    name: name.text.clone(),
                    attrs,
                    params,
                });
            }
            other => {
                return Err(ParseError::new(
                    token.pos,
                    format!(
                        "unexpected \"{other}\" in primitive (expected params, meta, utilization or op)"
                    ),
                )
                .suggest(other, SECTIONS));
            }
        }
    }
    Ok(primitive)
}

fn parse_container_attrs(
    words: &mut Words<'_>,
    what: &str,
    meta: &mut NvList,
    params: &mut NvList,
) -> Result<(), ParseError> {
    while let Some(token) = words.take() {
        match token.text.as_str() {
            "meta" => parse_pairs(words, meta, "meta")?,
            "params" => parse_pairs(words, params, "params")?,
            other => {
                return Err(ParseError::new(
                    token.pos,
                    format!("unexpected \"{other}\" in {what} (expected meta or params)"),
                )
                .suggest(other, &["meta", "params"]));
            }
        }
    }
    Ok(())
}

fn parse_group(words: &mut Words<'_>) -> Result<GroupDef, ParseError> {
    let id = words.expect_id("a group id")?;
    let mut group = GroupDef {
        id,
        ..GroupDef::default()
    };
    while let Some(token) = words.peek() {
        if matches!(token.text.as_str(), "meta" | "params") {
            break;
        }
        check_id(token)?;
        group.members.push(token.text.clone());
        words.take();
    }
    if group.members.is_empty() {
        return Err(ParseError::new(
            words.here(),
            "expected at least one resource in the group",
        ));
    }
    parse_container_attrs(words, "group", &mut group.meta, &mut group.params)?;
    Ok(group)
}

fn parse_clone(words: &mut Words<'_>) -> Result<CloneDef, ParseError> {
    let id = words.expect_id("a clone id")?;
    let child = words.expect_id("the resource to clone")?;
    let mut clone = CloneDef {
        id,
        child,
        ..CloneDef::default()
    };
    parse_container_attrs(words, "clone", &mut clone.meta, &mut clone.params)?;
    Ok(clone)
}

/// Reads a score as crmsh accepts it: integers, `inf`, `+inf`, `-inf`, `INFINITY`,
/// `mandatory` (INFINITY) and `advisory` (0).
pub fn parse_score(text: &str) -> Option<Score> {
    match text.to_ascii_lowercase().as_str() {
        "mandatory" => Some(Score::INFINITY),
        "advisory" => Some(Score::ZERO),
        _ => text.parse().ok(),
    }
}

/// Takes a `SCORE:` word; returns the text before the colon.
fn take_colon_word<'a>(
    words: &mut Words<'a>,
    what: &str,
) -> Result<(&'a Token, String), ParseError> {
    let token = words.expect(what)?;
    match token.text.strip_suffix(':') {
        Some(text) if !text.is_empty() => Ok((token, text.to_string())),
        _ => {
            // Accept `SCORE :` written with a space.
            if words.peek_text() == Some(":") {
                words.take();
                return Ok((token, token.text.clone()));
            }
            Err(ParseError::new(
                token.pos,
                format!("expected {what} ending in \":\", found \"{}\"", token.text),
            ))
        }
    }
}

fn parse_location(words: &mut Words<'_>) -> Result<Location, ParseError> {
    let id = words.expect_id("a constraint id")?;
    let rsc = words.expect_id("a resource id")?;
    let mut location = Location {
        id,
        rsc,
        score: None,
        node: None,
        rules: Vec::new(),
        role: None,
        resource_discovery: None,
    };
    while let Some(text) = words.peek_text() {
        if let Some(role) = text.strip_prefix("role=").or(text.strip_prefix("$role=")) {
            location.role = Some(role.to_string());
        } else if let Some(value) = text.strip_prefix("resource-discovery=") {
            location.resource_discovery = Some(value.to_string());
        } else {
            break;
        }
        words.take();
    }
    if words.peek_text() == Some("rule") {
        while words.peek_text() == Some("rule") {
            words.take();
            location.rules.push(parse_rule(words)?);
        }
        return Ok(location);
    }
    let (token, score_text) = take_colon_word(words, "a score (e.g. 100: or inf:) or rule")?;
    let score = parse_score(&score_text).ok_or_else(|| {
        ParseError::new(
            token.pos,
            format!("invalid score \"{score_text}\" (expected an integer, inf or -inf)"),
        )
        .suggest(&score_text, &["inf", "-inf", "rule"])
    })?;
    let node = words.expect("a node name")?;
    location.score = Some(score);
    location.node = Some(node.text.clone());
    Ok(location)
}

const BINARY_OPS: &[&str] = &["lt", "gt", "lte", "gte", "eq", "ne"];
const UNARY_OPS: &[&str] = &["defined", "not_defined"];
const VALUE_TYPES: &[&str] = &["string", "integer", "number", "version"];

fn parse_rule(words: &mut Words<'_>) -> Result<Rule, ParseError> {
    let mut rule = Rule {
        id: None,
        score: None,
        score_attribute: None,
        boolean_op: BooleanOp::And,
        role: None,
        expressions: Vec::new(),
    };
    while let Some(text) = words.peek_text() {
        if let Some(id) = text.strip_prefix("$id=") {
            rule.id = Some(id.to_string());
        } else if let Some(role) = text.strip_prefix("$role=").or(text.strip_prefix("role=")) {
            rule.role = Some(role.to_string());
        } else {
            break;
        }
        words.take();
    }
    let (_, score_text) = take_colon_word(words, "a rule score (e.g. 100: or -inf:)")?;
    match parse_score(&score_text) {
        Some(score) => rule.score = Some(score),
        None => rule.score_attribute = Some(score_text),
    }
    let mut combiner: Option<(&str, Pos)> = None;
    loop {
        rule.expressions.push(parse_expression(words)?);
        match words.peek() {
            Some(t) if t.text == "and" || t.text == "or" => {
                if let Some((previous, _)) = combiner
                    && previous != t.text
                {
                    return Err(ParseError::new(
                        t.pos,
                        "cannot mix \"and\" and \"or\" in one rule; use two rules",
                    ));
                }
                combiner = Some((if t.text == "and" { "and" } else { "or" }, t.pos));
                words.take();
            }
            _ => break,
        }
    }
    if let Some(("or", _)) = combiner {
        rule.boolean_op = BooleanOp::Or;
    }
    match words.peek() {
        None => {}
        Some(t) if t.text == "rule" => {}
        Some(t) => {
            return Err(ParseError::new(
                t.pos,
                format!(
                    "unexpected \"{}\" after expression (expected and, or, rule)",
                    t.text
                ),
            )
            .suggest(&t.text, &["and", "or", "rule"]));
        }
    }
    Ok(rule)
}

/// One expression, with its id when `$id=ID` comes first.
fn parse_expression(words: &mut Words<'_>) -> Result<Expression, ParseError> {
    let id = match words.peek_text().and_then(|t| t.strip_prefix("$id=")) {
        Some(id) => {
            let id = id.to_string();
            words.take();
            Some(id)
        }
        None => None,
    };
    let mut expression = parse_bare_expression(words)?;
    expression.id = id;
    Ok(expression)
}

fn parse_bare_expression(words: &mut Words<'_>) -> Result<Expression, ParseError> {
    let first = words.expect("an expression, e.g. #uname eq node1")?;
    if first.text == "date" {
        let op = words.expect("lt or gt")?;
        if !matches!(op.text.as_str(), "lt" | "gt") {
            return Err(ParseError::new(
                op.pos,
                format!(
                    "unsupported date expression \"date {}\" (expected date lt TIME or date gt TIME)",
                    op.text
                ),
            ));
        }
        let value = words.expect("an ISO 8601 time, e.g. 2026-11-26T08:00:00Z")?;
        if crate::crm::date::parse_iso8601(&value.text).is_none() {
            return Err(ParseError::new(
                value.pos,
                format!(
                    "invalid time \"{}\" (expected ISO 8601, e.g. 2026-11-26T08:00:00Z)",
                    value.text
                ),
            ));
        }
        return Ok(Expression {
            id: None,
            attribute: crate::crm::cib::DATE_ATTRIBUTE.to_string(),
            operation: op.text.clone(),
            value: Some(value.text.clone()),
            value_type: None,
        });
    }
    if UNARY_OPS.contains(&first.text.as_str()) {
        let attribute = words.expect("an attribute name")?;
        return Ok(Expression {
            id: None,
            attribute: attribute.text.clone(),
            operation: first.text.clone(),
            value: None,
            value_type: None,
        });
    }
    let op = words.expect("an operator (lt, gt, lte, gte, eq, ne)")?;
    let (value_type, operation) = match op.text.split_once(':') {
        Some((kind, operation)) => (Some(kind), operation),
        None => (None, op.text.as_str()),
    };
    if let Some(kind) = value_type
        && !VALUE_TYPES.contains(&kind)
    {
        return Err(ParseError::new(
            op.pos,
            format!("unknown value type \"{kind}\" (expected string, integer, number, version)"),
        )
        .suggest(kind, VALUE_TYPES));
    }
    if !BINARY_OPS.contains(&operation) {
        let mut all: Vec<&str> = BINARY_OPS.to_vec();
        all.extend(UNARY_OPS);
        return Err(ParseError::new(
            op.pos,
            format!(
                "unknown operator \"{operation}\" (expected lt, gt, lte, gte, eq, ne, or defined ATTR)"
            ),
        )
        .suggest(operation, &all));
    }
    let value = words.expect("a value to compare with")?;
    Ok(Expression {
        id: None,
        attribute: first.text.clone(),
        operation: operation.to_string(),
        value: Some(value.text.clone()),
        value_type: value_type.map(str::to_string),
    })
}

fn split_role(text: &str) -> (String, Option<String>) {
    match text.split_once(':') {
        Some((id, role)) => (id.to_string(), Some(role.to_string())),
        None => (text.to_string(), None),
    }
}

fn expect_ref(words: &mut Words<'_>, what: &str) -> Result<(String, Option<String>), ParseError> {
    let token = words.expect(what)?;
    let (id, suffix) = split_role(&token.text);
    check_id(&Token {
        text: id.clone(),
        pos: token.pos,
    })?;
    Ok((id, suffix))
}

/// Whether the rest of a colocation or order names exactly two resources without sets
/// (attribute words `name=value` aside): the two-resource form.
fn is_simple_pair(words: &Words<'_>) -> bool {
    let rest = &words.tokens[words.next..];
    let plain = rest.iter().filter(|t| !t.text.contains('=')).count();
    plain == 2
        && rest.iter().take(2).all(|t| {
            !t.text.contains('=')
                && t.text != RSC_SET_MARKER
                && !t.text.starts_with(['(', '['])
                && !t.text.ends_with([')', ']'])
        })
}

/// crmsh's resource sets: bare members form a set with the defaults, `( … )` a set with
/// `sequential=false`, `[ … ]` one with `sequential=false require-all=false`; attributes
/// `sequential=`, `require-all=` (and the deprecated `ordering=`) inside a set override those;
/// a member's `:role` (colocation) or `:action` (order) applies to its set, and a change of it
/// starts a new set. As in crmsh, a `true` is the default and is not stored.
fn parse_resource_sets(
    constraint_id: &str,
    tokens: &[Token],
    is_order: bool,
) -> Result<Vec<ResourceSet>, ParseError> {
    struct Open {
        close: char,
        pos: Pos,
    }
    let empty_set = |sequential, require_all| ResourceSet {
        id: None,
        resources: Vec::new(),
        sequential,
        require_all,
        role: None,
        action: None,
        ordering: None,
    };
    let mut sets = Vec::new();
    let mut open: Option<Open> = None;
    let mut current = empty_set(None, None);
    let flush = |current: &mut ResourceSet, sets: &mut Vec<ResourceSet>| {
        if !current.resources.is_empty() {
            let next = ResourceSet {
                id: None,
                resources: Vec::new(),
                role: None,
                action: None,
                ordering: None,
                ..current.clone()
            };
            sets.push(std::mem::replace(current, next));
        }
    };
    // `(a` and `b)` are read as `( a` and `b )`, as crmsh does.
    let mut words = Vec::new();
    for token in tokens {
        let text = token.text.as_str();
        let (head, rest) = match text.chars().next() {
            Some(c @ ('(' | '[')) if text.len() > 1 => (Some(c), &text[1..]),
            _ => (None, text),
        };
        let (body, tail) = match rest.chars().last() {
            Some(c @ (')' | ']')) if rest.len() > 1 => (&rest[..rest.len() - 1], Some(c)),
            _ => (rest, None),
        };
        if let Some(c) = head {
            words.push((c.to_string(), token.pos));
        }
        words.push((body.to_string(), token.pos));
        if let Some(c) = tail {
            words.push((c.to_string(), token.pos));
        }
    }
    for (text, pos) in &words {
        let pos = *pos;
        match text.as_str() {
            marker if marker == RSC_SET_MARKER => {}
            "(" | "[" => {
                if open.is_some() {
                    return Err(ParseError::new(
                        pos,
                        "resource sets cannot be nested".to_string(),
                    ));
                }
                flush(&mut current, &mut sets);
                let any = text == "[";
                current = empty_set(Some(false), any.then_some(false));
                open = Some(Open {
                    close: if any { ']' } else { ')' },
                    pos,
                });
            }
            ")" | "]" => {
                let Some(opened) = open.take() else {
                    return Err(ParseError::new(pos, format!("unmatched \"{text}\"")));
                };
                if !text.starts_with(opened.close) {
                    return Err(ParseError::new(
                        pos,
                        format!(
                            "expected \"{}\" to close the set, found \"{text}\"",
                            opened.close
                        ),
                    ));
                }
                if current.resources.is_empty() {
                    return Err(ParseError::new(pos, "empty resource set".to_string()));
                }
                flush(&mut current, &mut sets);
                current = empty_set(None, None);
            }
            attr if attr.contains('=') => {
                let (name, value) = attr.split_once('=').unwrap_or((attr, ""));
                let flag = || {
                    parse_bool(value).ok_or_else(|| {
                        ParseError::new(
                            pos,
                            format!("invalid {name} value \"{value}\" (expected true or false)"),
                        )
                    })
                };
                match name {
                    "sequential" => current.sequential = (!flag()?).then_some(false),
                    "require-all" => current.require_all = (!flag()?).then_some(false),
                    "ordering" => current.ordering = Some(value.to_string()),
                    "$id" => {
                        check_id(&Token {
                            text: value.to_string(),
                            pos,
                        })?;
                        // The generated id is not stored, as when read from XML.
                        let generated = ResourceSet::default_id(constraint_id, sets.len());
                        current.id = (value != generated).then(|| value.to_string());
                    }
                    _ => {
                        return Err(ParseError::new(
                            pos,
                            format!(
                                "unknown resource set attribute \"{name}\" (expected sequential, \
                                 require-all, ordering or $id)"
                            ),
                        ));
                    }
                }
            }
            member => {
                let (id, suffix) = split_role(member);
                check_id(&Token {
                    text: id.clone(),
                    pos,
                })?;
                if let Some(suffix) = &suffix {
                    check_set_suffix(suffix, is_order, pos)?;
                }
                let own = if is_order {
                    &current.action
                } else {
                    &current.role
                };
                if !current.resources.is_empty() && *own != suffix {
                    flush(&mut current, &mut sets);
                }
                if is_order {
                    current.action = suffix;
                } else {
                    current.role = suffix;
                }
                current.resources.push(id);
            }
        }
    }
    if let Some(opened) = open {
        return Err(ParseError::new(
            opened.pos,
            format!("resource set not closed (expected \"{}\")", opened.close),
        ));
    }
    flush(&mut current, &mut sets);
    if sets.is_empty() {
        let pos = tokens.last().map(|t| t.pos).unwrap_or_default();
        return Err(ParseError::new(pos, "expected resources".to_string()));
    }
    Ok(sets)
}

fn check_set_suffix(suffix: &str, is_order: bool, pos: Pos) -> Result<(), ParseError> {
    let known: &[&str] = if is_order {
        &["start", "stop", "promote", "demote"]
    } else {
        super::verify::ROLES
    };
    if known.contains(&suffix) {
        return Ok(());
    }
    let what = if is_order { "action" } else { "role" };
    Err(ParseError::new(
        pos,
        format!(
            "unknown {what} \"{suffix}\" (expected {})",
            known.join(", ")
        ),
    )
    .suggest(suffix, known))
}

fn parse_colocation(words: &mut Words<'_>) -> Result<Change, ParseError> {
    let id = words.expect_id("a constraint id")?;
    let (token, score_text) = take_colon_word(words, "a score (e.g. inf:)")?;
    let score = parse_score(&score_text).ok_or_else(|| {
        ParseError::new(
            token.pos,
            format!("invalid score \"{score_text}\" (expected an integer, inf or -inf)"),
        )
        .suggest(&score_text, &["inf", "-inf"])
    })?;
    if !is_simple_pair(words) {
        let sets = parse_resource_sets(&id, &words.tokens[words.next..], false)?;
        words.next = words.tokens.len();
        return Ok(Change::ColocationSet(ColocationSet { id, score, sets }));
    }
    Ok(Change::Colocation(parse_colocation_pair(id, score, words)?))
}

fn parse_colocation_pair(
    id: String,
    score: Score,
    words: &mut Words<'_>,
) -> Result<Colocation, ParseError> {
    let (rsc, rsc_role) = expect_ref(words, "a resource id")?;
    let (with_rsc, with_rsc_role) = expect_ref(words, "the resource to colocate with")?;
    if let Some(extra) = words.peek() {
        return Err(ParseError::new(
            extra.pos,
            format!("unexpected \"{}\" in colocation", extra.text),
        ));
    }
    Ok(Colocation {
        id,
        score,
        rsc,
        with_rsc,
        rsc_role,
        with_rsc_role,
    })
}

fn parse_order(words: &mut Words<'_>) -> Result<Change, ParseError> {
    let id = words.expect_id("a constraint id")?;
    let mut kind = OrderKind::Mandatory;
    let mut score = None;
    if let Some(token) = words.peek()
        && let Some(text) = token.text.strip_suffix(':')
    {
        words.take();
        match text.to_ascii_lowercase().as_str() {
            "mandatory" => kind = OrderKind::Mandatory,
            "optional" => kind = OrderKind::Optional,
            "serialize" => kind = OrderKind::Serialize,
            _ => match text.parse::<Score>() {
                Ok(value) => {
                    kind = if value == Score::ZERO {
                        OrderKind::Optional
                    } else {
                        OrderKind::Mandatory
                    };
                    score = Some(value);
                }
                Err(_) => {
                    return Err(ParseError::new(
                        token.pos,
                        format!(
                            "unknown order kind \"{text}\" (expected Mandatory, Optional, Serialize or a score)"
                        ),
                    )
                    .suggest(text, &["Mandatory", "Optional", "Serialize"]));
                }
            },
        }
    }
    if !is_simple_pair(words) {
        let mut rest = &words.tokens[words.next..];
        let mut symmetrical = None;
        if let Some(last) = rest.last()
            && let Some(value) = last.text.strip_prefix("symmetrical=")
        {
            symmetrical = Some(parse_bool(value).ok_or_else(|| {
                ParseError::new(
                    last.pos,
                    format!("invalid symmetrical value \"{value}\" (expected true or false)"),
                )
            })?);
            rest = &rest[..rest.len() - 1];
        }
        let sets = parse_resource_sets(&id, rest, true)?;
        words.next = words.tokens.len();
        return Ok(Change::OrderSet(OrderSet {
            id,
            kind,
            symmetrical,
            score,
            sets,
        }));
    }
    let (first, first_action) = expect_ref(words, "the first resource")?;
    let (then, then_action) = expect_ref(words, "the resource that follows")?;
    let mut order = Order {
        id,
        kind,
        first,
        first_action,
        then,
        then_action,
        symmetrical: None,
        require_all: None,
        score,
    };
    for action in [&order.first_action, &order.then_action]
        .into_iter()
        .flatten()
    {
        if !matches!(action.as_str(), "start" | "stop" | "promote" | "demote") {
            return Err(ParseError::new(
                words.tokens[words.next - 1].pos,
                format!("unknown action \"{action}\" (expected start, stop, promote, demote)"),
            ));
        }
    }
    while let Some(token) = words.take() {
        match token.text.split_once('=') {
            Some(("symmetrical", value)) => {
                order.symmetrical = Some(parse_bool(value).ok_or_else(|| {
                    ParseError::new(
                        token.pos,
                        format!("invalid symmetrical value \"{value}\" (expected true or false)"),
                    )
                })?);
            }
            Some(("require-all", value)) => {
                order.require_all = Some(parse_bool(value).ok_or_else(|| {
                    ParseError::new(
                        token.pos,
                        format!("invalid require-all value \"{value}\" (expected true or false)"),
                    )
                })?);
            }
            _ => {
                return Err(ParseError::new(
                    token.pos,
                    format!(
                        "unexpected \"{}\" in order (expected symmetrical=true|false or require-all=true|false)",
                        token.text
                    ),
                ));
            }
        }
    }
    Ok(Change::Order(order))
}

/// Reads a Pacemaker boolean: true/false, yes/no, on/off, 1/0 (any case).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "y" => Some(true),
        "false" | "no" | "off" | "0" | "n" => Some(false),
        _ => None,
    }
}

fn parse_option_set(words: &mut Words<'_>, what: &str) -> Result<NvList, ParseError> {
    // `property cib-bootstrap-options: a=b` (show's form) and `property $id=X a=b` name the
    // set; hakit keeps one set per section, so the name is accepted and not stored.
    if let Some(text) = words.peek_text()
        && (text.starts_with("$id=") || (text.ends_with(':') && !text.contains('=')))
    {
        words.take();
    }
    let mut list = NvList::new();
    parse_pairs(words, &mut list, what)?;
    Ok(list)
}

/// Lexes and parses text with many lines at one level (no navigation between lines).
pub fn parse_text(level: Level, text: &str) -> Result<Vec<(Line, Command)>, ParseError> {
    lex(text)?
        .into_iter()
        .map(|line| parse(level, &line).map(|command| (line, command)))
        .collect()
}

/// True when `word` is a navigation command at every level.
pub fn is_navigation(word: &str) -> bool {
    NAVIGATION_WORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(level: Level, text: &str) -> Command {
        let lines = lex(text).unwrap();
        assert_eq!(lines.len(), 1, "{text}");
        parse(level, &lines[0]).unwrap()
    }

    fn error(level: Level, text: &str) -> ParseError {
        let lines = lex(text).unwrap();
        parse(level, &lines[0]).unwrap_err()
    }

    fn change(text: &str) -> Change {
        match one(Level::Configure, text) {
            Command::Configure(ConfigureCommand::Change(change)) => change,
            other => panic!("not a change: {other:?}"),
        }
    }

    #[test]
    fn continuation_joins_lines_and_keeps_positions() {
        let lines = lex(
            "primitive vip IPaddr \\\n\tparams ip=10.0.0.1 \\\n\top monitor interval=10s\nverify\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].tokens.len(), 8);
        assert_eq!(lines[0].tokens[3].pos, Pos { line: 2, col: 2 });
        assert_eq!(lines[1].pos, Pos { line: 4, col: 1 });
    }

    #[test]
    fn quotes_and_comments_follow_crmsh() {
        let lines = lex("# a comment\nprimitive d Dummy params x=\"a \\\"b\\\"\" y='c d' z=\"\"\n")
            .unwrap();
        assert_eq!(lines.len(), 1);
        let texts: Vec<_> = lines[0].tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "primitive",
                "d",
                "Dummy",
                "params",
                "x=a \"b\"",
                "y=c d",
                "z="
            ]
        );
        let error = lex("property a=\"b").unwrap_err();
        assert_eq!(error.pos, Pos { line: 1, col: 12 });
    }

    #[test]
    fn guide_primitive_parses_with_agent_and_params() {
        let Change::Primitive(p) = change(
            "primitive vip ocf:heartbeat:IPaddr params ip=192.168.2.100 cidr_netmask=24 op monitor interval=10s",
        ) else {
            panic!()
        };
        assert_eq!(p.agent(), "ocf:heartbeat:IPaddr");
        assert_eq!(p.params.get("cidr_netmask"), Some("24"));
        assert_eq!(p.ops[0].name, "monitor");
        assert_eq!(p.ops[0].interval_ms(), 10_000);
        let Change::Primitive(p) = change("primitive gohttpd lsb:gohttpd") else {
            panic!()
        };
        assert_eq!((p.class.as_str(), p.provider.as_deref()), ("lsb", None));
        let Change::Primitive(p) = change("primitive vip IPaddr ip=1.2.3.4") else {
            panic!()
        };
        assert_eq!(p.agent(), "ocf:heartbeat:IPaddr");
        assert_eq!(p.params.get("ip"), Some("1.2.3.4"));
    }

    #[test]
    fn unknown_class_names_position_and_suggests() {
        let e = error(Level::Configure, "primitive vip ocff:heartbeat:IPaddr");
        assert_eq!(e.pos, Pos { line: 1, col: 15 });
        assert_eq!(e.suggestion.as_deref(), Some("ocf"));
        assert!(e.message.contains("unknown resource class \"ocff\""), "{e}");
    }

    #[test]
    fn misspelt_keywords_get_suggestions() {
        let e = error(Level::Configure, "primitve vip IPaddr");
        assert_eq!(e.suggestion.as_deref(), Some("primitive"));
        let e = error(Level::Configure, "primitive vip IPaddr parms ip=1");
        assert_eq!(e.suggestion.as_deref(), Some("params"));
        assert_eq!(e.pos.col, 22);
        let e = error(Level::Top, "configre");
        assert_eq!(e.suggestion.as_deref(), Some("configure"));
    }

    #[test]
    fn location_node_and_rule_forms() {
        let Change::Location(l) = change("location loc1 vip 100: node1") else {
            panic!()
        };
        assert_eq!(
            (l.score, l.node.as_deref()),
            (Some(Score::new(100)), Some("node1"))
        );
        let Change::Location(l) = change(
            "location l2 vip rule -inf: not_defined pingd or pingd lte 0 rule pingd: defined pingd",
        ) else {
            panic!()
        };
        assert_eq!(l.rules.len(), 2);
        assert_eq!(l.rules[0].boolean_op, BooleanOp::Or);
        assert_eq!(l.rules[0].score, Some(Score::NEG_INFINITY));
        assert_eq!(l.rules[0].expressions[1].value.as_deref(), Some("0"));
        assert_eq!(l.rules[1].score_attribute.as_deref(), Some("pingd"));
        let Change::Location(l) = change("location l3 vip rule 50: #uname eq node1") else {
            panic!()
        };
        assert_eq!(l.rules[0].expressions[0].attribute, "#uname");
        let e = error(
            Level::Configure,
            "location l4 vip rule 5: a eq 1 and b eq 2 or c eq 3",
        );
        assert!(e.message.contains("cannot mix"), "{e}");
    }

    #[test]
    fn colocation_and_order_forms() {
        let Change::Colocation(c) = change("colocation c1 inf: vip gohttpd:Started") else {
            panic!()
        };
        assert_eq!(c.score, Score::INFINITY);
        assert_eq!(c.with_rsc_role.as_deref(), Some("Started"));
        let Change::Order(o) = change("order o1 Optional: a:start b symmetrical=false") else {
            panic!()
        };
        assert_eq!(o.kind, OrderKind::Optional);
        assert_eq!(o.first_action.as_deref(), Some("start"));
        assert_eq!(o.symmetrical, Some(false));
        let Change::Order(o) = change("order o2 0: a b") else {
            panic!()
        };
        assert_eq!((o.kind, o.score), (OrderKind::Optional, Some(Score::ZERO)));
        let e = error(Level::Configure, "order o3 Mandatroy: a b");
        assert_eq!(e.suggestion.as_deref(), Some("Mandatory"));
    }

    #[test]
    fn resource_set_errors_point_at_the_word() {
        for (text, col, words) in [
            ("order o Mandatory: a ( b ( c ) )", 26, "nested"),
            ("order o Mandatory: a b ) c", 24, "unmatched"),
            ("order o Mandatory: a ( b c", 22, "not closed"),
            ("colocation c inf: a [ b c ) d", 27, "to close the set"),
            ("colocation c inf: a ( ) b", 23, "empty resource set"),
            (
                "order o Mandatory: a ( b c sequentail=false )",
                28,
                "unknown resource set attribute",
            ),
            ("order o Mandatory: a b:strat c", 22, "unknown action"),
        ] {
            let e = error(Level::Configure, text);
            assert!(e.message.contains(words), "{text}: {e:?}");
            assert_eq!(e.pos.col, col, "{text}: {e:?}");
        }
        let e = error(Level::Configure, "colocation c inf: a b:Startd c");
        assert_eq!(e.suggestion.as_deref(), Some("Started"));
    }

    #[test]
    fn property_accepts_set_names() {
        let Change::Property(list) =
            change("property cib-bootstrap-options: stonith-enabled=false")
        else {
            panic!()
        };
        assert_eq!(list.get("stonith-enabled"), Some("false"));
        let e = error(Level::Configure, "property");
        assert!(e.message.contains("expected NAME=VALUE"), "{e}");
    }

    #[test]
    fn top_level_prefix_reaches_levels() {
        assert_eq!(
            one(Level::Top, "configure"),
            Command::Enter(Level::Configure)
        );
        assert_eq!(
            one(Level::Top, "configure verify"),
            Command::Configure(ConfigureCommand::Verify)
        );
        assert_eq!(one(Level::Configure, "cd .."), Command::Up);
        assert_eq!(
            one(Level::Top, "ra list ocf heartbeat"),
            Command::Ra(RaCommand::List {
                class: "ocf".into(),
                provider: Some("heartbeat".into())
            })
        );
    }

    #[test]
    fn invalid_ids_are_refused() {
        let e = error(Level::Configure, "primitive 1vip IPaddr");
        assert!(e.message.contains("invalid id"), "{e}");
        assert_eq!(e.pos.col, 11);
    }
}
