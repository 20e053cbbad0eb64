using System.Net;
using Scriban;
using Scriban.Parsing;
using Scriban.Runtime;

namespace Newsletter.Rendering;

/// <summary>
/// Scriban escapes nothing by itself: this context HTML-escapes every value a template writes
/// unless it is <see cref="TrustedHtml"/>, so feed text cannot inject markup even when a template
/// forgets <c>html.escape</c>. <c>html.escape</c> itself returns trusted HTML, so escaping by hand
/// does not escape twice; <c>raw</c> marks a value as trusted.
/// </summary>
internal sealed class HtmlTemplateContext(LoopMarks? marks = null) : TemplateContext(CreateBuiltins())
{
    protected override bool OnStepLoop(Scriban.Syntax.ScriptLoopStatementBase loop) => (marks?.Step(loop) ?? true) && base.OnStepLoop(loop);

    public override void SetLoopVariable(Scriban.Syntax.ScriptVariable variable, object? value)
    {
        base.SetLoopVariable(variable, value);
        marks?.Item(this, value);
    }

    protected override void OnExitLoop(Scriban.Syntax.ScriptLoopStatementBase loop)
    {
        marks?.Exit(this, loop);
        base.OnExitLoop(loop);
    }

    private static ScriptObject CreateBuiltins()
    {
        var builtins = GetDefaultBuiltinObject();
        // Imported members are read-only and cannot be replaced in place: swap the whole "html" object.
        var builtinHtml = (ScriptObject)builtins["html"]!;
        var html = new ScriptObject();
        foreach (var member in builtinHtml.GetMembers())
            if (member != "escape")
                html.SetValue(member, builtinHtml[member], true);
        html.Import("escape", new Func<object?, TrustedHtml>(value => value as TrustedHtml ?? new TrustedHtml(WebUtility.HtmlEncode(Stringify(value)))));
        builtins.SetValue("html", html, true);
        builtins.Import("raw", new Func<object?, TrustedHtml>(value => value as TrustedHtml ?? new TrustedHtml(Stringify(value))));
        return builtins;
    }

    private static string Stringify(object? value) => value switch
    {
        null => "",
        string text => text,
        IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public override TemplateContext Write(SourceSpan span, object? textAsObject) =>
        textAsObject is TrustedHtml trusted
            ? base.Write(span, trusted.Value)
            : base.Write(span, WebUtility.HtmlEncode(ObjectToString(textAsObject)));

    public override ValueTask<TemplateContext> WriteAsync(SourceSpan span, object? textAsObject) =>
        textAsObject is TrustedHtml trusted
            ? base.WriteAsync(span, trusted.Value)
            : base.WriteAsync(span, WebUtility.HtmlEncode(ObjectToString(textAsObject)));

    public override string ObjectToString(object? value, bool nested = false) =>
        value is TrustedHtml trusted ? trusted.Value : base.ObjectToString(value, nested) ?? "";
}
