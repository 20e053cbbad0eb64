using Scriban.Parsing;
using Scriban.Runtime;

namespace Newsletter.Rendering;

/// <summary>
/// What <c>templates check</c> learns from a render: every variable or member a template reads that
/// the model does not have (<c>{{ issue.date_txt }}</c>, <c>{{ entry.titel }}</c>), each once, at its
/// <c>file:line:col</c>, with the nearest name the model does have. Only names that really come up
/// empty are reported: loop variables, captures, assignments and builtins are found by Scriban first.
/// </summary>
internal sealed class UnknownNames(TemplateStore templates)
{
    private readonly Dictionary<(string File, int Line, int Column), TemplateError> _found = [];
    private readonly Dictionary<string, string> _sources = new(StringComparer.Ordinal);

    /// <summary>In the order of the files, then of their lines.</summary>
    public IEnumerable<TemplateError> Errors => _found.Values.OrderBy(e => e.File, StringComparer.Ordinal).ThenBy(e => e.Line).ThenBy(e => e.Column);

    /// <summary>A top-level name nothing defines; <paramref name="known"/> are the model's own.</summary>
    public void Variable(SourceSpan span, string name, IEnumerable<string> known)
    {
        var names = known.ToArray();
        Add(span, name, null, Configuration.Suggestions.Nearest(name, names), names);
    }

    /// <summary>A member its object does not have; <paramref name="known"/> are the members it does have.</summary>
    public void Member(SourceSpan span, string member, IEnumerable<string> known)
    {
        var names = known.ToArray();
        Add(span, member, PathBefore(span), Configuration.Suggestions.Nearest(member, names), names);
    }

    private void Add(SourceSpan span, string name, string? path, string? nearest, IEnumerable<string> known)
    {
        var file = templates.Display(string.IsNullOrEmpty(span.FileName) ? templates.Root : span.FileName);
        var key = (file, span.Start.Line + 1, span.Start.Column + 1);
        if (_found.ContainsKey(key))
            return; // the same spot in a loop, or in another sample
        var written = path + name;
        var message = $"{written} is not a known variable (it would render as empty text)";
        var listed = known.Where(k => !k.StartsWith('$')).Order(StringComparer.Ordinal).ToArray();
        message += nearest is not null
            ? $"; did you mean {path + nearest}?"
            : listed.Length is > 0 and <= 30 ? $"; {(path is null ? "known" : path.TrimEnd('.') + " has")}: {string.Join(", ", listed)}" : "";
        _found[key] = new TemplateError(key.file, key.Item2, key.Item3, message);
    }

    /// <summary>How the template wrote what comes before the member (<c>issue.</c> of <c>issue.date_txt</c>), read from its source.</summary>
    private string? PathBefore(SourceSpan span)
    {
        if (string.IsNullOrEmpty(span.FileName))
            return null;
        if (!_sources.TryGetValue(span.FileName, out var text))
        {
            try { text = File.ReadAllText(span.FileName); }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException) { text = ""; }
            _sources[span.FileName] = text;
        }
        var end = span.Start.Offset;
        if (end <= 0 || end > text.Length || text[end - 1] != '.')
            return null;
        var start = end - 1;
        while (start > 0 && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] is '_' or '.' or '[' or ']' or '$'))
            start--;
        return start < end - 1 ? text[start..end] : null;
    }
}
