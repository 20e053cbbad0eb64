using System.Globalization;
using System.Text.RegularExpressions;

namespace Newsletter.Cli;

/// <summary>
/// The sentence for a configuration file the host could not read (broken JSON, an array or a
/// bare value where an object belongs, an empty file), naming the file and the JSON position.
/// </summary>
internal static partial class ConfigurationFileError
{
    public static string Describe(InvalidDataException exception)
    {
        // "Failed to load configuration from file '/x/appsettings.json'." wraps the JSON reader's
        // own message, which carries the (zero-based) line and byte position.
        var file = exception.Message.Split('\'') is [_, var path, ..] ? path : "a configuration file";
        var inner = exception.InnerException ?? exception;
        while (inner.InnerException is not null)
            inner = inner.InnerException;
        var detail = inner.Message.Trim();
        if (Position().Match(detail) is { Success: true } at)
        {
            var line = int.Parse(at.Groups["line"].Value, CultureInfo.InvariantCulture) + 1;
            var column = int.Parse(at.Groups["column"].Value, CultureInfo.InvariantCulture) + 1;
            detail = detail[..at.Index].Trim().TrimEnd('.');
            detail = detail.StartsWith("The input does not contain any JSON tokens", StringComparison.Ordinal)
                ? "the file is empty (it must hold at least {})"
                : $"{detail} at line {line}, column {column}";
        }
        return $"Invalid configuration: cannot read {file}: {detail.TrimEnd('.')}. Nothing was started.";
    }

    [GeneratedRegex(@"LineNumber: (?<line>\d+) \| BytePositionInLine: (?<column>\d+)\.?")]
    private static partial Regex Position();
}
