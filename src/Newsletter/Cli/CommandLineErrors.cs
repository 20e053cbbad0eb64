using System.CommandLine;
using Newsletter.Configuration;

namespace Newsletter.Cli;

/// <summary>
/// How a mistyped command line is answered: one sentence per problem with the nearest verb or
/// option, a pointer to <c>--help</c>, and exit code 2 — never the service starting instead.
/// </summary>
internal static class CommandLineErrors
{
    public const int UsageExitCode = 2;

    public static async Task<int> ReportAsync(ParseResult parse, TextWriter error)
    {
        var command = parse.CommandResult.Command;
        var path = CommandPath(parse);
        // After "--" every token is an argument, and no verb takes free arguments: "--date" there
        // is not an unknown option (suggesting '--date' for it would be absurd).
        if (parse.Tokens.Any(t => t.Value == "--") && parse.UnmatchedTokens.Count > 0)
        {
            await error.WriteLineAsync($"'{path}' takes no arguments after '--'; give its options directly (e.g. '{path} {string.Join(' ', parse.UnmatchedTokens)}').");
            await error.WriteLineAsync($"Run '{path} --help' for usage.");
            return UsageExitCode;
        }
        // The first stray token is the mistake; the ones after it are usually its value.
        foreach (var token in parse.UnmatchedTokens.Take(1))
        {
            var isOption = token.StartsWith('-');
            var candidates = isOption
                ? command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name))
                : command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            var bare = isOption ? token.TrimStart('-') : token;
            // Never the token itself as its own suggestion.
            var nearest = Suggestions.Nearest(bare, (isOption ? candidates.Select(c => c.TrimStart('-')) : candidates).Where(c => !c.Equals(bare, StringComparison.Ordinal)));
            var suggestion = nearest is null ? "" : $"; did you mean '{(isOption ? candidates.First(c => c.TrimStart('-') == nearest) : nearest)}'?";
            var what = isOption ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
            await error.WriteLineAsync($"Unknown {what} '{token}' for '{path}'{suggestion}");
        }
        if (parse.UnmatchedTokens.Count == 0)
            foreach (var problem in parse.Errors)
                await error.WriteLineAsync(problem.Message);
        await error.WriteLineAsync($"Run '{path} --help' for usage.");
        return UsageExitCode;
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(result.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}

/// <summary>
/// The configuration overrides a command line may carry (<c>--Newsletter:Smtp:Host=x</c>,
/// <c>--Newsletter:Smtp:Host x</c>, <c>Newsletter:Smtp:Host=x</c>, and the host's own
/// <c>--urls</c>, <c>--environment</c>, <c>--contentRoot</c>, as WebApplicationFactory passes them),
/// which go to the host's configuration rather than to the verb. Only keys under a section this
/// host reads count, so a mistyped option is still an error.
/// </summary>
internal static class ConfigurationArguments
{
    private static readonly HashSet<string> Roots = new(StringComparer.OrdinalIgnoreCase)
    {
        "Newsletter", "Logging", "Kestrel", "AllowedHosts", "urls", "environment", "contentRoot", "applicationName",
    };

    public static (string[] Overrides, string[] Others) Split(IReadOnlyList<string> args)
    {
        var overrides = new List<string>();
        var others = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var token = args[i];
            var name = token.StartsWith("--", StringComparison.Ordinal) ? token[2..] : token.StartsWith('/') ? token[1..] : token;
            var hasValue = name.Contains('=', StringComparison.Ordinal);
            var key = name.Split('=', 2)[0];
            var root = key.Split(':', 2)[0].Split("__", 2)[0];
            var dashed = name.Length < token.Length;
            // A bare "Key=value" must name a section ("Newsletter:...") to be taken for one.
            if (!Roots.Contains(root) || !dashed && !(hasValue && key.Contains(':', StringComparison.Ordinal)))
            {
                others.Add(token);
                continue;
            }
            overrides.Add(token);
            // "--Key value": the value is the next token.
            if (dashed && !hasValue && i + 1 < args.Count)
                overrides.Add(args[++i]);
        }
        return (overrides.ToArray(), others.ToArray());
    }
}
