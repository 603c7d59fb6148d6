//! The `accord` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use accord::spec::{AsyncApiOptions, AsyncApiServer};
use accord_codegen::check::{self, report, CheckOptions, Level};
use accord_codegen::dead_letters::{self, DeadLettersCommand};
use accord_codegen::emit::template_sets;
use accord_codegen::generate::default_cache_dir;
use accord_codegen::{generate, lang, templates, GenerateOptions, OpenApiVersion};
use clap::{Parser, Subcommand};

/// The emit builds and frees many small JSON values and strings; mimalloc
/// serves them in about a third fewer instructions than the system
/// allocator (README, design notes).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Publishes accord service contracts for teams that do not use Rust.
#[derive(Debug, Parser)]
#[command(
    name = "accord",
    version,
    about = "Publish accord service contracts: OpenAPI, AsyncAPI, JSON Schemas, TypeScript and \
             Python clients and a documentation page",
    long_about = "Publish accord service contracts.\n\n\
                  accord reads the `#[accord::service]` traits of contract crates, by compiling a \
                  small exporter against each crate, and writes what other teams build against: \
                  OpenAPI and AsyncAPI documents, one JSON Schema per type, clients in \
                  TypeScript and Python, and a documentation page; and it compares contracts with the versions \
                  published before, reporting breaking changes.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the published files of every service in the given contract crates.
    #[command(
        long_about = "Write the published files of every service in the given contract crates.\n\n\
                      For each service and version, DIR/<service>/<version>/ receives:\n  \
                      openapi.json         OpenAPI 3.1 (or 3.0 with --openapi-version 3.0)\n  \
                      asyncapi.json        AsyncAPI 3.0\n  \
                      schemas/<Type>.json  JSON Schema 2020-12, one per named type\n  \
                      client.ts            a fetch-based TypeScript client (--lang typescript)\n  \
                      python/              an httpx-based Python package (--lang python)\n  \
                      index.html           a documentation page, readable without a server\n  \
                      descriptor.json      the contract as exported, for `accord check`\n\n\
                      The output is deterministic: the same contracts give byte-identical files.",
        after_long_help = "Examples:\n  \
                           accord generate contracts/ --out published/\n  \
                           accord generate contracts/orders contracts/catalog --out published/ --openapi-version 3.0\n  \
                           accord generate contracts/ --out published/ --lang python\n  \
                           accord generate contracts/ --out published/ --server production=nats://nats.internal:4222\n  \
                           accord templates export my-templates/ && accord generate contracts/ --out published/ --templates my-templates/"
    )]
    Generate(GenerateArgs),
    /// Compare contracts with their published versions and report breaking changes.
    #[command(
        long_about = "Compare contracts with their published versions and report breaking changes.\n\n\
                      Each service in the given contract crates is compared with a version \
                      `accord generate` published into DIR (its descriptor.json): the newest one \
                      not newer than the contract's own version, or --against-version. Every \
                      change is printed with its rule, whether it breaks clients, servers, \
                      publishers or subscribers, and the verdict of the semver policy:\n  \
                      a breaking change without a new major version     error\n  \
                      a compatible change without a new minor version   warning\n  \
                      a published version whose contract changed        error\n\n\
                      Below 1.0.0 the minor number counts as the major one. The rules are \
                      documented in codegen/README.md (\"Breaking changes\").\n\n\
                      Exit status: 0 when there is no error (warnings included), 1 when the \
                      check finds an error, 2 when accord cannot check.",
        after_long_help = "Examples:\n  \
                           accord check contracts/ --against published/\n  \
                           accord check contracts/orders --against published/ --against-version 1.0.0\n  \
                           accord check contracts/ --against published/ --format json"
    )]
    Check(CheckArgs),
    /// List, show, replay or purge a subscriber group's dead letters on NATS or RabbitMQ.
    #[command(
        subcommand,
        long_about = "List, show, replay or purge a subscriber group's dead letters on NATS or \
                      RabbitMQ.\n\n\
                      A replay publishes the dead letter again on its topic with its event id, \
                      for its group only (other groups skip it), and removes it from the dead \
                      letters. The group's subscriber dedupes replays by event id, so replaying \
                      the same dead letter twice handles it once.\n\n\
                      The memory broker lives inside one process and cannot be reached from \
                      here.",
        after_long_help = "Examples:\n  \
                           accord dead-letters list --broker nats://127.0.0.1:4222 --group billing\n  \
                           accord dead-letters show --broker nats://127.0.0.1:4222 --group billing 5f0c...\n  \
                           accord dead-letters replay --broker amqp://guest:guest@127.0.0.1:5672/%2f --group billing --all\n  \
                           accord dead-letters purge --broker amqp://guest:guest@127.0.0.1:5672/%2f --group billing --yes"
    )]
    DeadLetters(DeadLettersCommand),
    /// Work with the handlebars templates behind the clients and index.html.
    #[command(subcommand)]
    Templates(TemplatesCommand),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Contract crates (a folder with a Cargo.toml, or the Cargo.toml), workspaces, or folders
    /// holding crates. A crate found in a folder is used when it declares a
    /// `#[accord::service]` trait.
    #[arg(required = true, value_name = "PATHS")]
    paths: Vec<PathBuf>,

    /// The folder to write to; each service version goes to DIR/<service>/<version>/.
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,

    /// The OpenAPI version of openapi.json.
    #[arg(long, value_enum, default_value = "3.1", value_name = "VERSION")]
    openapi_version: OpenApiVersion,

    /// The client languages to write, separated by commas [default: every language].
    #[arg(
        long = "lang",
        value_name = "LANGUAGES",
        value_delimiter = ',',
        value_parser = clap::builder::PossibleValuesParser::new(lang::all().iter().map(|l| l.name()))
    )]
    languages: Vec<String>,

    /// A folder of templates replacing the built-in ones of the same name: the page's at its
    /// root, each language's in a folder named after it (see `accord templates export`).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,

    /// Where exporters are built; reused between runs, so later runs take seconds.
    /// [default: $XDG_CACHE_HOME/accord or ~/.cache/accord]
    #[arg(long, env = "ACCORD_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// A broker the services run on, listed under `servers` in asyncapi.json, as NAME=URL
    /// (for example production=nats://nats.internal:4222); repeat for several. The channel
    /// and operation bindings are those of the servers' protocols (NATS, RabbitMQ), or of every
    /// protocol when no server is given. Credentials in the URL are left out.
    #[arg(long = "server", value_name = "NAME=URL", value_parser = AsyncApiServer::parse)]
    servers: Vec<AsyncApiServer>,

    /// The NATS stream prefix the services are configured with, for the stream names in
    /// asyncapi.json [default: ACCORD].
    #[arg(long, value_name = "PREFIX")]
    nats_stream_prefix: Option<String>,

    /// The RabbitMQ exchange and queue prefix the services are configured with, for the names
    /// in asyncapi.json [default: accord].
    #[arg(long, value_name = "PREFIX")]
    amqp_prefix: Option<String>,

    /// Print only errors.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Contract crates (a folder with a Cargo.toml, or the Cargo.toml), workspaces, or folders
    /// holding crates, as for `accord generate`.
    #[arg(required = true, value_name = "PATHS")]
    paths: Vec<PathBuf>,

    /// The folder `accord generate --out` published to, holding a descriptor.json per service
    /// and version.
    #[arg(long, value_name = "DIR")]
    against: PathBuf,

    /// Compare with this published version instead of the newest one not newer than the
    /// contract.
    #[arg(long, value_name = "VERSION")]
    against_version: Option<String>,

    /// How to print the result.
    #[arg(long, value_enum, default_value = "text", value_name = "FORMAT")]
    format: Format,

    /// Where exporters are built; reused between runs, so later runs take seconds.
    /// [default: $XDG_CACHE_HOME/accord or ~/.cache/accord]
    #[arg(long, env = "ACCORD_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// No progress output while exporting.
    #[arg(short, long)]
    quiet: bool,
}

/// How `accord check` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A block per service, for people.
    Text,
    /// One JSON document, for machines (its shape is in codegen/README.md).
    Json,
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Write the built-in templates into DIR, to edit and pass to `accord generate --templates DIR`.
    #[command(
        long_about = "Write the built-in templates into DIR, to edit and pass to `accord generate \
                      --templates DIR`.\n\nThe documentation page's templates go to DIR itself, \
                      each language's to a folder named after it (DIR/typescript/, DIR/python/). \
                      A template left out of DIR stays built in, so DIR may keep only the ones you \
                      change. Their view model is documented in \
                      codegen/TEMPLATES.md."
    )]
    Export {
        /// The folder to write the templates to.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Replace templates already in DIR.
        #[arg(long)]
        force: bool,
    },
    /// List the templates and what each renders.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `accord check` keeps 1 for "the check failed".
    let failure = match cli.command {
        Command::Check(_) => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            failure
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => {
            let options = CheckOptions {
                paths: args.paths,
                against: args.against,
                against_version: args.against_version,
                cache_dir: args.cache_dir.unwrap_or_else(default_cache_dir),
                quiet: args.quiet,
            };
            let result = check::check(&options)?;
            match args.format {
                Format::Text => print!("{}", report::to_text(&result)),
                Format::Json => print!(
                    "{}",
                    accord_codegen::emit::to_json(&report::to_json(&result))
                ),
            }
            Ok(match result.level() {
                Level::Error => ExitCode::FAILURE,
                Level::Ok | Level::Warning => ExitCode::SUCCESS,
            })
        }
        Command::Generate(args) => {
            let options = GenerateOptions {
                paths: args.paths,
                out: args.out,
                openapi_version: args.openapi_version,
                languages: args.languages,
                templates: args.templates,
                cache_dir: args.cache_dir.unwrap_or_else(default_cache_dir),
                quiet: args.quiet,
                asyncapi: AsyncApiOptions {
                    servers: args.servers,
                    nats_stream_prefix: args.nats_stream_prefix,
                    amqp_prefix: args.amqp_prefix,
                },
            };
            for service in generate(&options)? {
                let mut line = format!(
                    "{} {} ({}): {} files in {}",
                    service.name,
                    service.version,
                    service.package,
                    service.files,
                    service.folder.display()
                );
                if service.changed < service.files {
                    line.push_str(&format!(", {} changed", service.changed));
                }
                if !service.removed.is_empty() {
                    line.push_str(&format!(
                        ", {} stale schema file{} removed",
                        service.removed.len(),
                        if service.removed.len() == 1 { "" } else { "s" }
                    ));
                }
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Templates(TemplatesCommand::Export { dir, force }) => {
            for path in templates::export(&dir, force, &template_sets())? {
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::DeadLetters(command) => {
            print!("{}", dead_letters::run(&command)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Templates(TemplatesCommand::List) => {
            for set in template_sets() {
                for template in set.files {
                    println!("{:<35} {}", set.display(template.file), template.about);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
