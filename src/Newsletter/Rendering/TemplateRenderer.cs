using Scriban;
using Scriban.Runtime;

namespace Newsletter.Rendering;

/// <summary>
/// Renders one template by name with plain data. Every render gets a fresh context (contexts are
/// not thread-safe) with loop, recursion, output-size and time limits; templates named
/// <c>*.html.sbn</c> escape every value unless it is marked trusted.
/// </summary>
public sealed class TemplateRenderer(TemplateStore templates, Microsoft.Extensions.Options.IOptions<Configuration.NewsletterOptions> options)
{
    internal const int LoopLimit = 10_000;
    internal const int RecursiveLimit = 50;
    internal const int LimitToString = 1_000_000;

    /// <summary>The parsed template now in use under that name (a new instance after each reload).</summary>
    public object Current(string name) => templates.Get(name);

    public static bool IsHtml(string name) => name.Contains(".html.", StringComparison.Ordinal);

    public string Render(string name, ScriptObject model) => Render(name, model, null);

    /// <summary>
    /// Renders as the service does; with <paramref name="unknown"/> (only <c>templates check</c>), every
    /// variable or member the template reads and the model lacks is reported to it. The render stays
    /// lenient either way: an unknown name is empty text, as it is for readers.
    /// </summary>
    internal string Render(string name, ScriptObject model, UnknownNames? unknown) => Render(name, model, unknown, null);

    /// <summary>With <paramref name="marks"/>: the loops over the digest's papers marked, for <see cref="CardAssembly"/>.</summary>
    internal string Render(string name, ScriptObject model, UnknownNames? unknown, LoopMarks? marks)
    {
        var template = templates.Get(name);
        using var timeout = new CancellationTokenSource(options.Value.RenderTimeout);
        TemplateContext context = IsHtml(name) ? new HtmlTemplateContext(marks) : marks is null ? new TemplateContext() : new MarkedTextContext(marks);
        context.LoopLimit = LoopLimit;
        context.RecursiveLimit = RecursiveLimit;
        context.LimitToString = LimitToString;
        // Past the limit Scriban would cut the output and carry on: a digest without its last papers and
        // its unsubscribe link would be sent. A render that does not fit is an error instead.
        context.OutputLimit = LimitToString;
        context.OnOutputLimit = ScriptLimitBehavior.Throw;
        context.OnStringLimit = ScriptLimitBehavior.Throw;
        context.TemplateLoader = templates;
        context.CancellationToken = timeout.Token;
        context.PushGlobal(model);
        if (unknown is not null)
        {
            // Scriban asks these only after every scope (loop, capture, function, builtins) came up empty.
            context.TryGetVariable = (TemplateContext _, Scriban.Parsing.SourceSpan span, Scriban.Syntax.ScriptVariable variable, out object? value) =>
            {
                unknown.Variable(span, variable.Name, model.GetMembers());
                value = null;
                return false;
            };
            context.TryGetMember = (TemplateContext current, Scriban.Parsing.SourceSpan span, object target, string member, out object? value) =>
            {
                unknown.Member(span, member, current.GetMemberAccessor(target).GetMembers(current, span, target));
                value = null;
                return false;
            };
        }
        try
        {
            return template.Render(context);
        }
        catch (Scriban.Syntax.ScriptRuntimeException exception) when (exception is not TemplateRenderException
                                                                     && exception.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                                                                     && !exception.Message.Contains("loop", StringComparison.OrdinalIgnoreCase)
                                                                     && !exception.Message.Contains("recursi", StringComparison.OrdinalIgnoreCase))
        {
            throw new OutputTooLargeException(name, exception);
        }
        catch (Scriban.Syntax.ScriptRuntimeException exception) when (exception is not TemplateRenderException and not OutputTooLargeException)
        {
            throw new TemplateRenderException(templates.ErrorOf(exception), exception);
        }
    }

    /// <summary>Subject lines: no line breaks or control characters can reach a header.</summary>
    public static string HeaderSafe(string text) =>
        string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(word => new string(word.Where(c => !char.IsControl(c)).ToArray()))
            .Where(word => word.Length > 0));
}

/// <summary>A render went past <see cref="TemplateRenderer.LimitToString"/>; nothing cut short is ever sent.</summary>
public sealed class OutputTooLargeException(string template, Exception inner)
    : Scriban.Syntax.ScriptRuntimeException(default, $"{template} renders more than {TemplateRenderer.LimitToString:N0} characters (the output limit); nothing was sent. Lower MaxEntriesPerIssue or MaxMoreEntriesPerIssue, or shorten the template ({inner.Message})", inner);

