using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Scriban;
using Scriban.Parsing;
using Scriban.Runtime;
using Scriban.Syntax;

namespace Newsletter.Rendering;

/// <summary>A template error as operators read it: <c>file:line:col: message</c>.</summary>
public sealed record TemplateError(string File, int Line, int Column, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

public sealed class TemplateUnavailableException(string message) : Exception(message);

/// <summary>
/// A template failed while rendering; its <see cref="Exception.Message"/> is the one error format
/// (<c>templates/x.sbn:line:col: message</c>) rather than Scriban's <c>/abs/x.sbn(5,40) : error :</c>.
/// Still a <see cref="ScriptRuntimeException"/>, so every handler of render failures catches it.
/// </summary>
public sealed class TemplateRenderException(TemplateError error, ScriptRuntimeException inner)
    : ScriptRuntimeException(inner.Span, error.Message, inner)
{
    public TemplateError Error { get; } = error;

    public override string Message => Error.ToString();

    public override string ToString() => Message;
}

/// <summary>
/// The operator-edited templates: parsed once, cached, and re-parsed when a file changes. A broken
/// edit is logged and the last good version stays in use; <see cref="Errors"/> lists what is broken now.
/// </summary>
public sealed class TemplateStore : ITemplateLoader, IDisposable
{
    public const string Extension = ".sbn";

    private readonly ConcurrentDictionary<string, Template> _good = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TemplateError[]> _broken = new(StringComparer.Ordinal);
    private readonly ILogger<TemplateStore> _logger;
    private readonly FileSystemWatcher? _watcher;
    private readonly ConcurrentDictionary<string, Timer> _pendingLoads = new(StringComparer.Ordinal);
    private static readonly TimeSpan ReloadDelay = TimeSpan.FromMilliseconds(250);

    public TemplateStore(IOptions<NewsletterOptions> options, ILogger<TemplateStore> logger)
    {
        _logger = logger;
        Root = PathResolver.Templates(options.Value.TemplatesPath);
        if (!Directory.Exists(Root))
        {
            logger.LogError("Templates folder {Root} does not exist (Newsletter:TemplatesPath)", Root);
            return;
        }
        foreach (var file in Directory.EnumerateFiles(Root, "*" + Extension, SearchOption.AllDirectories))
            Load(file);
        _watcher = new FileSystemWatcher(Root, "*" + Extension) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size };
        _watcher.Changed += (_, e) => LoadSoon(e.FullPath);
        _watcher.Created += (_, e) => LoadSoon(e.FullPath);
        _watcher.Renamed += (_, e) => { LoadSoon(e.OldFullPath); LoadSoon(e.FullPath); };
        _watcher.Deleted += (_, e) => LoadSoon(e.FullPath);
        _watcher.EnableRaisingEvents = true;
    }

    public string Root { get; }

    /// <summary>Goes up on every (re)load or deletion, so results derived from the templates can be cached.</summary>
    public long Version => Interlocked.Read(ref _version);

    private long _version;

    /// <summary>Templates whose current file does not parse (the last good version is still served).</summary>
    public IReadOnlyList<TemplateError> Errors => _broken.Values.SelectMany(e => e).ToArray();

    public bool Exists(string name) => _good.ContainsKey(name) || _broken.ContainsKey(name);

    public Template Get(string name) =>
        _good.TryGetValue(name, out var template)
            ? template
            : throw new TemplateUnavailableException(_broken.TryGetValue(name, out var errors)
                ? $"{string.Join("; ", errors.Select(e => e.ToString()))} (and no earlier good version of it to use)"
                : $"{Display(name)}:1:1: template not found");

    /// <summary>How a template file is named in every message: relative to the current directory when inside it (<c>templates/digest.html.sbn</c>).</summary>
    public string Display(string nameOrPath)
    {
        var full = Path.GetFullPath(nameOrPath, Root);
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), full);
        return (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative).Replace('\\', '/');
    }

    /// <summary>A render failure in the one error format, naming the file (an include's own, when it failed there).</summary>
    public TemplateError ErrorOf(ScriptRuntimeException exception) => exception is TemplateRenderException known
        ? known.Error
        : new TemplateError(Display(string.IsNullOrEmpty(exception.Span.FileName) ? Root : exception.Span.FileName),
            exception.Span.Start.Line + 1, exception.Span.Start.Column + 1, exception.OriginalMessage);

    /// <summary>Parses every template file afresh, for <c>templates check</c>.</summary>
    public IReadOnlyList<TemplateError> ParseAll()
    {
        if (!Directory.Exists(Root))
            return [new TemplateError(Display(Root), 1, 1, "templates folder not found (Newsletter:TemplatesPath)")];
        return Directory.EnumerateFiles(Root, "*" + Extension, SearchOption.AllDirectories).Order()
            .SelectMany(file => Parse(file, File.ReadAllText(file)).Errors).ToArray();
    }

    /// <summary>
    /// A save raises several events, the first often on a truncated file (an empty template is
    /// valid and would replace the good one): wait until the file has been quiet for a moment.
    /// </summary>
    private void LoadSoon(string path) =>
        _pendingLoads.AddOrUpdate(path,
            key => new Timer(_ => { if (_pendingLoads.TryRemove(key, out var timer)) timer.Dispose(); Load(key); }, null, ReloadDelay, Timeout.InfiniteTimeSpan),
            (_, timer) => { timer.Change(ReloadDelay, Timeout.InfiniteTimeSpan); return timer; });

    private void Load(string path)
    {
        Interlocked.Increment(ref _version);
        var name = NameOf(path);
        string text;
        try
        {
            text = ReadWithRetry(path);
        }
        catch (IOException) when (!File.Exists(path))
        {
            // Deleted (or renamed away): its errors go with it. An editor that saves by
            // delete-and-recreate has recreated it by now (loads wait until the file is quiet).
            _good.TryRemove(name, out _);
            var hadErrors = _broken.TryRemove(name, out _);
            _logger.LogWarning("Template {Template} was deleted{Cleared}", Display(name), hadErrors ? "; its errors are cleared" : "");
            return;
        }
        catch (IOException exception)
        {
            _logger.LogWarning("Template {Template} could not be read: {Reason}", name, exception.Message);
            return;
        }
        var (template, errors) = Parse(path, text);
        if (template is not null)
        {
            _good[name] = template;
            if (_broken.TryRemove(name, out _))
                _logger.LogInformation("Template {Template} is valid again and in use", name);
            return;
        }
        _broken[name] = errors.ToArray();
        foreach (var error in errors)
            _logger.LogError("Template error {Error}; {Fallback}", error, _good.ContainsKey(name) ? "keeping the last good version" : "no good version to fall back to");
    }

    private (Template? Template, IReadOnlyList<TemplateError> Errors) Parse(string path, string text)
    {
        var relative = Display(path);
        var template = Template.Parse(text, path);
        if (!template.HasErrors)
            return (template, []);
        var errors = template.Messages
            .Where(m => m.Type == ParserMessageType.Error)
            .Select(m => new TemplateError(relative, m.Span.Start.Line + 1, m.Span.Start.Column + 1, m.Message))
            .ToArray();
        return (null, errors);
    }

    // Editors write in several steps; a file caught half-written or locked is read again shortly.
    private static string ReadWithRetry(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return File.ReadAllText(path); }
            catch (IOException) when (attempt < 5 && File.Exists(path)) { Thread.Sleep(50 * attempt); }
        }
    }

    private string NameOf(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    // ITemplateLoader: includes resolve only to files inside the templates folder.
    string ITemplateLoader.GetPath(TemplateContext context, SourceSpan callerSpan, string templateName)
    {
        var full = Path.GetFullPath(Path.Combine(Root, templateName));
        if (!full.StartsWith(Path.GetFullPath(Root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ScriptRuntimeException(callerSpan, $"include '{templateName}' is outside the templates folder");
        // Scriban would report a missing file as "Unexpected exception while creating template from path '/abs/...'".
        if (!File.Exists(full))
            throw new ScriptRuntimeException(callerSpan, $"include '{templateName}' not found ({Display(full)})");
        return full;
    }

    string ITemplateLoader.Load(TemplateContext context, SourceSpan callerSpan, string templatePath) => File.ReadAllText(templatePath);

    async ValueTask<string?> ITemplateLoader.LoadAsync(TemplateContext context, SourceSpan callerSpan, string templatePath) =>
        await File.ReadAllTextAsync(templatePath);

    public void Dispose()
    {
        _watcher?.Dispose();
        foreach (var timer in _pendingLoads.Values)
            timer.Dispose();
    }
}
