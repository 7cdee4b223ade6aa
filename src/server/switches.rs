//! What the named faults and the named conforming variants share: a table of names, each with the
//! rule of the catalogue it is about (`fixtures/rules.toml`: the rule a fault breaks, or the rule
//! whose latitude a variant uses) and a description, parsed from and printed for the command line,
//! and the set a server runs with.

/// Declares a table of named switches: the enum (one variant a row, documented by its
/// description), `ALL`, `name`, `rule`, `spec`, `description`, `index`, and `FromStr`/`Display` by
/// name. Each row is `Variant => ("name", rules::SOME_RULE, "what it does")`.
macro_rules! switches {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident, listed by $list:literal;
        $( $(#[$doc:meta])* $variant:ident => ($name:literal, $rule:path, $what:literal); )+
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $( $(#[$doc])* #[doc = $what] $variant, )+
        }

        impl $ty {
            /// Every one, in the order of the table.
            pub const ALL: &'static [$ty] = &[ $( $ty::$variant, )+ ];

            /// Its position in [`ALL`](Self::ALL).
            #[allow(dead_code)]
            pub(crate) const fn index(self) -> usize {
                self as usize
            }

            /// Its name on the command line.
            pub const fn name(self) -> &'static str {
                match self { $( $ty::$variant => $name, )+ }
            }

            /// The rule of the catalogue it is about.
            pub const fn rule(self) -> $crate::protocol::Rule {
                match self { $( $ty::$variant => $rule, )+ }
            }

            /// The SPEC section of its rule.
            pub const fn spec(self) -> &'static str {
                self.rule().spec
            }

            /// What the server does.
            pub const fn description(self) -> &'static str {
                match self { $( $ty::$variant => $what, )+ }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == s)
                    .ok_or_else(|| format!("unknown {} {s:?}; `{}` lists them", stringify!($ty).to_lowercase(), $list))
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub(crate) use switches;

/// The switches of one table a server runs with, each once, in the order they were turned on.
///
/// ```
/// use lsconform::server::{Variant, Variants};
/// let variants = Variants::none().with(Variant::MissingContent).with(Variant::MissingContent);
/// assert!(variants.has(Variant::MissingContent));
/// assert!(!variants.has(Variant::Bearer401));
/// assert_eq!(variants.iter().count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switches<T>(Vec<T>);

impl<T> Default for Switches<T> {
    fn default() -> Self {
        Switches(Vec::new())
    }
}

impl<T: Copy + PartialEq> Switches<T> {
    /// None on: the reference behaviour.
    pub fn none() -> Switches<T> {
        Switches(Vec::new())
    }

    /// Turns one on.
    pub fn with(mut self, switch: T) -> Switches<T> {
        if !self.0.contains(&switch) {
            self.0.push(switch);
        }
        self
    }

    /// Whether one is on.
    pub fn has(&self, switch: T) -> bool {
        self.0.contains(&switch)
    }

    /// The ones that are on.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.0.iter().copied()
    }
}
