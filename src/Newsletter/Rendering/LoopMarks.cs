using System.Globalization;
using Scriban;
using Scriban.Syntax;

namespace Newsletter.Rendering;

/// <summary>
/// Marks where a render's loops over the digest's papers run, for <see cref="CardAssembly"/>: a marker at each
/// iteration naming the paper (its card) and one where the loop ends. Scriban calls <c>OnStepLoop</c>, then
/// <c>SetLoopVariable</c> with the item, then runs the body; a loop is a paper loop when its item is one of
/// <see cref="Cards"/>' objects (by reference). In skeleton mode a paper loop writes only one marker and its output
/// is switched off, and it stops after the first item: what is left is the render without any card.
/// </summary>
internal sealed class LoopMarks(IReadOnlyDictionary<object, int> cards, string prefix, bool html, bool skeleton)
{
    private readonly Dictionary<ScriptLoopStatementBase, int> _running = new(ReferenceEqualityComparer.Instance);
    private ScriptLoopStatementBase? _stepping;
    private ScriptLoopStatementBase? _silenced;

    public IReadOnlyDictionary<object, int> Cards { get; } = cards;

    /// <summary>False stops the loop: a silenced (skeleton) paper loop after its first item.</summary>
    public bool Step(ScriptLoopStatementBase loop)
    {
        _stepping = loop;
        return !ReferenceEquals(loop, _silenced);
    }

    public void Item(TemplateContext context, object? value)
    {
        if (value is null || _stepping is not { } loop || !Cards.TryGetValue(value, out var card))
            return;
        // A loop is named by where it stands in the template: the same in every render of one template version.
        if (!_running.TryGetValue(loop, out var ordinal))
        {
            _running[loop] = ordinal = loop.Span.Start.Offset;
            if (skeleton)
            {
                Write(context, "L" + ordinal.ToString(CultureInfo.InvariantCulture));
                context.EnableOutput = false;
                _silenced = loop;
            }
        }
        if (!skeleton)
            Write(context, "S" + ordinal.ToString(CultureInfo.InvariantCulture) + "." + card.ToString(CultureInfo.InvariantCulture));
    }

    public void Exit(TemplateContext context, ScriptLoopStatementBase loop)
    {
        if (!_running.Remove(loop, out var ordinal))
            return;
        if (ReferenceEquals(loop, _silenced))
        {
            context.EnableOutput = true;
            _silenced = null;
        }
        if (!skeleton)
            Write(context, "E" + ordinal.ToString(CultureInfo.InvariantCulture));
    }

    // In HTML a comment: the only node a parser keeps in place anywhere (text between table rows would be moved out of the table).
    private void Write(TemplateContext context, string mark) =>
        context.Write(html ? "<!--" + prefix + mark + "~-->" : prefix + mark + "~");
}

/// <summary>The plain-text context with <see cref="LoopMarks"/> (HTML's is <see cref="HtmlTemplateContext"/>).</summary>
internal sealed class MarkedTextContext(LoopMarks marks) : TemplateContext
{
    protected override bool OnStepLoop(ScriptLoopStatementBase loop) => marks.Step(loop) && base.OnStepLoop(loop);

    public override void SetLoopVariable(ScriptVariable variable, object? value)
    {
        base.SetLoopVariable(variable, value);
        marks.Item(this, value);
    }

    protected override void OnExitLoop(ScriptLoopStatementBase loop)
    {
        marks.Exit(this, loop);
        base.OnExitLoop(loop);
    }
}
