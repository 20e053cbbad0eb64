using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Newsletter.Model;
using Scriban.Runtime;

namespace Newsletter.Rendering;

/// <summary>
/// Every paper's card rendered once per issue and assembled per reader in that reader's order: the digests of one
/// issue that hold the same papers in different orders (learned rankings: one order per reader) share their cards.
/// </summary>
/// <remarks>
/// A <em>marked render</em> runs the templates for one digest with <see cref="LoopMarks"/>: a marker at each
/// iteration of a loop over the digest's papers and at its end, and markers in place of the personal values (the
/// address and links, each paper's feedback links and <c>entry.position</c>). Its CSS is inlined once; it is then cut
/// into the <em>skeleton</em> (everything outside those loops, with a slot per loop) and one <em>card</em> per paper
/// and loop. A reader's copy is their skeleton with each slot filled by the cards of their papers, in their order,
/// and their values spliced in. The skeleton can depend on the reader's papers (the shipped preheader names the first
/// one, the counts differ), so the templates run once more with every paper loop silenced after its first item (no card
/// rendered, no CSS inlined), and that text finds the skeleton; one not seen yet costs a marked render. That skeleton
/// render notes every member it reads from a paper's object: a later reader whose papers give the same values for the
/// same reads (and the same counts) would render the same text, so it is taken from the kept ones and no template runs
/// for them (with the shipped templates, readers with the same first paper of each list). A card is keyed by its loop, its paper, the reason shown and its size-budget level; a paper seen
/// in a new variant costs a marked render too. Cards are lines: the lines wholly inside a card are wrapped and made
/// wire-ready once; only the lines where two cards meet and those holding a personal value are made per reader.
/// Whether a template's cards really are independent of their neighbours and position is checked by the caller
/// (<see cref="DigestRenderer"/>) once per template version against full renders; here, a card that comes out of two
/// marked renders differently, or a paper loop that does not run over a whole list in order, marks the assembly
/// <see cref="Broken"/> and its readers are rendered in full.
/// </remarks>
internal sealed class CardAssembly(string prefix, int feedbackLength, bool feedback,
    Func<Issue, DigestRecipient, int[], ScriptObject> model, Func<IssueEntry, int, DigestRecipient, ScriptObject> entryModel,
    Func<string, ScriptObject, LoopMarks?, string> render,
    Func<string, string> wrapHtml, Func<string, string> wrapText)
{
    /// <summary>How many cards and skeletons one issue may hold (~2-4 KB each): past it, readers are rendered in full.</summary>
    public const int MaxFragments = 40_000;

    private readonly ConcurrentDictionary<CardKey, Fragment>[] _cards = [new(), new()];
    private readonly ConcurrentDictionary<string, Skeleton>[] _skeletons = [new(StringComparer.Ordinal), new(StringComparer.Ordinal)];
    private readonly Lock _marking = new();
    private readonly LineCache[] _lines = [new(), new()];
    private readonly ConcurrentDictionary<string, SkeletonKeys> _skeletonKeys = new(StringComparer.Ordinal);
    private volatile Recipe[] _recipes = [];
    private int _fragments;
    private readonly Regex _foreignComment = new("<!--(?!" + Regex.Escape(prefix) + ")(.*?)-->", RegexOptions.Singleline | RegexOptions.CultureInvariant);

    /// <summary>Set when the templates' cards turned out not to be independent (or the issue too varied): nothing more is assembled.</summary>
    public string? Broken { get; private set; }

    public int FeedbackLength => feedbackLength;

    public int Fragments => _fragments;

    public int MarkedRenders { get; private set; }

    private int _skeletonRenders;

    /// <summary>How many readers' skeletons were rendered, not found among those kept (tests and benchmarks).</summary>
    public int SkeletonRenders => _skeletonRenders;

    /// <summary>One reader's digest, assembled: the subject, the fragments of each part in order, and their values; null when not possible.</summary>
    public Assembled? Assemble(Issue issue, DigestRecipient recipient)
    {
        if (Broken is not null || (recipient.Feedback is not null) != feedback)
            return null;
        var markers = Markers();
        Resolved? last = null;
        var (levels, _, _) = DigestSizeBudget.Fit(issue, levels =>
        {
            last = Resolve(issue, markers, levels);
            return last is null ? (100_000_000, 100_000_000) : (last.Html.Bytes, last.Text.Bytes);
        });
        if (last is null || !last.Levels.AsSpan().SequenceEqual(levels))
            last = Resolve(issue, markers, levels);
        if (last is null)
            return null;
        var values = new ReaderValues(issue, recipient);
        var subject = TemplateRenderer.HeaderSafe(Join(Cut(last.Subject), values, -1));
        return new Assembled(subject, last.Html.Fragments, last.Text.Fragments, values, levels, _lines[0], _lines[1]);
    }

    /// <summary>The reader's values in place of the markers (the recipient of a marked render).</summary>
    private DigestRecipient Markers() => new(prefix + "a~", prefix + "u~", prefix + "r~",
        feedback ? (entryId, more) => (prefix + (more ? "m" : "l") + entryId.ToString(CultureInfo.InvariantCulture) + ".").PadRight(feedbackLength - 1, 'x') + "~" : null);

    private sealed record Resolved(int[] Levels, string Subject, PartFragments Html, PartFragments Text);

    /// <summary>A part's fragments in order (each with the index of its paper in the issue, -1 for the skeleton's) and their size in bytes.</summary>
    internal sealed record PartFragments(List<(Fragment Fragment, int Card)> Fragments, int Bytes);

    /// <summary>The fragments of both parts at <paramref name="levels"/>, marking a render first when one is missing.</summary>
    private Resolved? Resolve(Issue issue, DigestRecipient markers, int[] levels)
    {
        for (var attempt = 0; attempt < 2 && Broken is null; attempt++)
        {
            var keys = Known(issue, markers, levels) ?? SkeletonRender(issue, markers, levels);
            var html = Lookup(0, keys.Html, issue, levels);
            var text = Lookup(1, keys.Text, issue, levels);
            if (html is not null && text is not null)
                return new Resolved(levels.ToArray(), keys.Subject, html, text);
            if (attempt == 0)
                MarkedRender(issue, markers, levels, keys.Html, keys.Text);
        }
        return null;
    }

    /// <summary>The skeleton renders (every paper loop silenced after its first item) and the subject, noting what of the papers they read.</summary>
    private SkeletonKeys SkeletonRender(Issue issue, DigestRecipient markers, int[] levels)
    {
        var reads = new List<(int Card, string Member, object? Value)>();
        var (scriptModel, cards) = Marked(issue, markers, levels, reads);
        var keys = new SkeletonKeys(render(DigestRenderer.HtmlTemplate, scriptModel, new LoopMarks(cards, prefix, html: true, skeleton: true)),
            render(DigestRenderer.TextTemplate, scriptModel, new LoopMarks(cards, prefix, html: false, skeleton: true)),
            render(DigestRenderer.SubjectTemplate, scriptModel, null));
        Remember(issue, reads, keys);
        Interlocked.Increment(ref _skeletonRenders);
        return keys;
    }

    /// <summary>How many skeleton renders' results are kept, and how many different sets of reads (recipes) are tried per reader.</summary>
    private const int MaxSkeletonKeys = 20_000, MaxRecipes = 8;

    /// <summary>
    /// Keeps a skeleton render's results under the values it read. The render is a function of the model: the issue's
    /// counts and date (the same for every reader otherwise, markers in place of their values) and the papers' members it
    /// read; a reader whose papers give the same values for the same reads renders the same, read for read, so their
    /// skeleton renders need not run.
    /// </summary>
    private void Remember(Issue issue, List<(int Card, string Member, object? Value)> reads, SkeletonKeys keys)
    {
        if (_skeletonKeys.Count >= MaxSkeletonKeys)
            return;
        var seen = new HashSet<(int, string)>();
        var distinct = new List<(int Card, string Member, object? Value)>();
        foreach (var read in reads)
            if (seen.Add((read.Card, read.Member)))
                distinct.Add(read);
        var recipe = new Recipe([.. distinct.Select(r => (r.Card, r.Member))]);
        lock (_skeletonKeys)
        {
            var recipes = _recipes;
            var index = Array.FindIndex(recipes, r => r.Reads.AsSpan().SequenceEqual(recipe.Reads));
            if (index < 0)
            {
                if (recipes.Length >= MaxRecipes)
                    return;
                index = recipes.Length;
                recipe = recipe with { Index = index };
                if (DependencyKey(issue, recipe, distinct.Select(r => r.Value)) is not { } check)
                    return; // a value of a kind that cannot be keyed: never cached
                _skeletonKeys.TryAdd(check, keys);
                _recipes = [.. recipes, recipe];
                return;
            }
            if (DependencyKey(issue, recipes[index], distinct.Select(r => r.Value)) is { } key)
                _skeletonKeys.TryAdd(key, keys);
        }
    }

    /// <summary>The skeleton renders' results for this reader when a render with the same reads and values was kept.</summary>
    private SkeletonKeys? Known(Issue issue, DigestRecipient markers, int[] levels)
    {
        var recipes = _recipes;
        if (recipes.Length == 0)
            return null;
        var entries = new ScriptObject?[issue.PaperCount];
        object? Value(int card, string member)
        {
            if (card >= entries.Length)
                return Missing;
            var entry = entries[card] ??= EntryObject(issue, markers, levels, card);
            return entry.TryGetValue(member, out var value) ? value : null;
        }
        foreach (var recipe in recipes)
        {
            if (DependencyKey(issue, recipe, recipe.Reads.Select(r => Value(r.Card, r.Member))) is { } key
                && _skeletonKeys.TryGetValue(key, out var keys))
                return keys;
        }
        return null;
    }

    private static readonly object Missing = new();

    /// <summary>The recipe, the issue's own values and each read value, unambiguously (lengths before text); null when a value cannot be keyed.</summary>
    private static string? DependencyKey(Issue issue, Recipe recipe, IEnumerable<object?> values)
    {
        var key = new StringBuilder();
        key.Append(recipe.Index).Append('|').Append(issue.Date.DayNumber).Append('|').Append(issue.Cadence.Length).Append(':').Append(issue.Cadence)
            .Append('|').Append(issue.Entries.Count).Append('|').Append(issue.More.Count).Append('|');
        foreach (var value in values)
            if (!Append(key, value))
                return null;
        return key.ToString();
    }

    private static bool Append(StringBuilder key, object? value)
    {
        switch (value)
        {
            case null: key.Append('n'); return true;
            case string text: key.Append('s').Append(text.Length).Append(':').Append(text); return true;
            case bool flag: key.Append(flag ? 't' : 'f'); return true;
            case int or long or double:
                key.Append('i').Append(((IFormattable)value).ToString(null, CultureInfo.InvariantCulture)).Append(';');
                return true;
            case ScriptArray array:
                key.Append('a').Append(array.Count).Append(':');
                foreach (var item in array)
                    if (!Append(key, item))
                        return false;
                return true;
            default: return false;
        }
    }

    /// <summary>A paper's model object as the marked and skeleton renders see it (its position a marker).</summary>
    private ScriptObject EntryObject(Issue issue, DigestRecipient markers, int[] levels, int card)
    {
        var full = card < issue.Entries.Count;
        var entry = full ? issue.Entries[card] : issue.More[card - issue.Entries.Count];
        var model = entryModel(entry, full ? levels[card] : 0, markers);
        model["position"] = PositionMarker(entry);
        return model;
    }

    private string PositionMarker(IssueEntry entry) => prefix + "p" + entry.EntryId.ToString(CultureInfo.InvariantCulture) + "~";

    /// <summary>The members of the papers (card, name) a skeleton render read, in order; <see cref="Index"/> its place among the recipes.</summary>
    private sealed record Recipe((int Card, string Member)[] Reads, int Index = 0);

    private sealed record SkeletonKeys(string Html, string Text, string Subject);

    /// <summary>
    /// A paper's model object that notes each member read from it. A use that is not a member read (printed whole,
    /// asked for a key) notes a value that cannot be keyed: that render is never kept. Listing its keys
    /// (<c>object.keys</c>) is not seen: a skeleton that shows a paper's member names alone would be shared wrongly.
    /// </summary>
    private sealed class ReadNoting(int card, List<(int Card, string Member, object? Value)> reads) : ScriptObject
    {
        public override bool TryGetValue(Scriban.TemplateContext? context, Scriban.Parsing.SourceSpan span, string member, out object? value)
        {
            var found = base.TryGetValue(context, span, member, out value);
            reads.Add((card, member, found ? value : null));
            return found;
        }

        public override bool Contains(string member)
        {
            reads.Add((card, "\0contains", Missing));
            return base.Contains(member);
        }

        public override object? this[string key]
        {
            get
            {
                reads.Add((card, "\0item", Missing));
                return base[key];
            }
            set => base[key] = value;
        }

        public override string ToString(string? format, IFormatProvider? formatProvider)
        {
            reads.Add((card, "\0whole", Missing));
            return base.ToString(format, formatProvider);
        }
    }

    private PartFragments? Lookup(int part, string key, Issue issue, int[] levels)
    {
        if (!_skeletons[part].TryGetValue(key, out var skeleton))
            return null;
        var list = new List<(Fragment, int)>(skeleton.Items.Length + issue.PaperCount);
        var bytes = 0;
        foreach (var item in skeleton.Items)
        {
            if (item.Text is { } text)
            {
                list.Add((text, -1));
                bytes += text.Bytes;
                continue;
            }
            var (entries, offset) = item.List == 0 ? (issue.Entries, 0) : (issue.More, issue.Entries.Count);
            for (var i = 0; i < entries.Count; i++)
            {
                if (!_cards[part].TryGetValue(Key(item.Loop, item.List, entries[i], item.List == 0 ? levels[i] : 0), out var card))
                    return null;
                list.Add((card, offset + i));
                bytes += card.Bytes;
            }
        }
        return new PartFragments(list, bytes);
    }

    private static CardKey Key(int loop, int list, IssueEntry entry, int level) =>
        new(loop, list, entry.EntryId, level, entry.Why, entry.Score, entry.Title, entry.Summary.Length);

    /// <summary>The model with markers for every personal value, and each paper's object with its index (full, then more).</summary>
    private (ScriptObject Model, Dictionary<object, int> Cards) Marked(Issue issue, DigestRecipient markers, int[] levels,
        List<(int Card, string Member, object? Value)>? reads = null)
    {
        var scriptModel = model(issue, markers, levels);
        var issueModel = (ScriptObject)scriptModel["issue"]!;
        var cards = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        var index = 0;
        foreach (var (name, list) in new[] { ("entries", issue.Entries), ("more", issue.More) })
        {
            var array = (ScriptArray)issueModel[name]!;
            for (var i = 0; i < array.Count; i++)
            {
                var entry = (ScriptObject)array[i]!;
                entry["position"] = PositionMarker(list[i]);
                if (reads is not null)
                {
                    // Each member read from a paper is noted: what the skeleton depends on (see Remember).
                    var noting = new ReadNoting(index, reads);
                    foreach (var (member, value) in entry)
                        noting[member] = value;
                    array[i] = entry = noting;
                }
                cards[entry] = index++;
            }
        }
        return (scriptModel, cards);
    }

    /// <summary>Renders the digest with every loop marked, inlines its CSS once, and keeps its skeletons and cards.</summary>
    private void MarkedRender(Issue issue, DigestRecipient markers, int[] levels, string htmlKey, string textKey)
    {
        lock (_marking)
        {
            if (Broken is not null)
                return;
            if (_fragments > MaxFragments)
            {
                Broken = $"more than {MaxFragments:N0} card variants in one issue";
                return;
            }
            MarkedRenders++;
            var (scriptModel, cards) = Marked(issue, markers, levels);
            var rawHtml = render(DigestRenderer.HtmlTemplate, scriptModel, new LoopMarks(cards, prefix, html: true, skeleton: false));
            var html = MailHtml.InlineKeepingComments(rawHtml);
            // The full render inlines with comments removed: remove every comment but ours, as it would.
            if (!ReferenceEquals(html, rawHtml))
                html = _foreignComment.Replace(html, "");
            var text = render(DigestRenderer.TextTemplate, scriptModel, new LoopMarks(cards, prefix, html: false, skeleton: false));
            Broken ??= Keep(0, htmlKey, html, issue, levels, "<!--", "~-->", wrapHtml) ?? Keep(1, textKey, text, issue, levels, "", "~", wrapText);
        }
    }

    /// <summary>Cuts a marked part into skeleton and cards and keeps them; the reason when the part cannot be assembled.</summary>
    private string? Keep(int part, string key, string output, Issue issue, int[] levels, string open, string close, Func<string, string> wrap)
    {
        var items = new List<SkeletonItem>();
        var cards = new List<(CardKey Key, Fragment Card)>();
        var start = 0;
        var textStart = 0;
        (int Loop, int List, int Card, int Begin, int Next)? current = null;
        while (true)
        {
            var at = output.IndexOf(open + prefix, start, StringComparison.Ordinal);
            // Value markers share the prefix: only loop marks (L, S, E) matter here.
            if (at >= 0 && output[at + open.Length + prefix.Length] is not ('S' or 'E'))
            {
                start = at + open.Length + prefix.Length;
                continue;
            }
            if (at < 0)
            {
                if (current is not null)
                    return "a loop over the papers did not end";
                items.Add(new SkeletonItem(Compile(output[textStart..], wrap), -1, -1));
                break;
            }
            var end = output.IndexOf(close, at + open.Length + prefix.Length, StringComparison.Ordinal);
            if (end < 0)
                return "a marker was cut";
            var mark = output[(at + open.Length + prefix.Length)..end];
            var after = end + close.Length;
            var loop = int.Parse(mark[1..(mark.IndexOf('.') is var dot and > 0 ? dot : mark.Length)], CultureInfo.InvariantCulture);
            if (current is { } open1)
            {
                if (open1.Loop != loop)
                    return "loops over the papers are nested";
                var (entries, offset) = open1.List == 0 ? (issue.Entries, 0) : (issue.More, issue.Entries.Count);
                var entry = entries[open1.Card - offset];
                cards.Add((Key(loop, open1.List, entry, open1.List == 0 ? levels[open1.Card] : 0), Compile(output[open1.Begin..at], wrap)));
            }
            if (mark[0] == 'S')
            {
                var card = int.Parse(mark[(mark.IndexOf('.') + 1)..], CultureInfo.InvariantCulture);
                var list = card < issue.Entries.Count ? 0 : 1;
                var first = list == 0 ? 0 : issue.Entries.Count;
                if (current is null)
                {
                    if (card != first)
                        return "a loop over the papers does not start at the first";
                    items.Add(new SkeletonItem(Compile(output[textStart..at], wrap), -1, -1));
                    items.Add(new SkeletonItem(null, loop, list));
                }
                else if (card != current.Value.Card + 1 || list != current.Value.List)
                {
                    return "a loop over the papers skips or reorders them";
                }
                current = (loop, list, card, after, 0);
            }
            else
            {
                if (current is not { } closing)
                    return "a loop over the papers ended twice";
                var count = closing.List == 0 ? issue.Entries.Count : issue.More.Count;
                var first = closing.List == 0 ? 0 : issue.Entries.Count;
                if (closing.Card != first + count - 1)
                    return "a loop over the papers stops early";
                current = null;
                textStart = after;
            }
            start = after;
        }
        foreach (var (cardKey, card) in cards)
        {
            if (_cards[part].TryGetValue(cardKey, out var known))
            {
                if (!known.Same(card))
                    return "a paper's card differs with its neighbours or position";
                continue;
            }
            _cards[part][cardKey] = card;
            Interlocked.Increment(ref _fragments);
        }
        if (_skeletons[part].TryAdd(key, new Skeleton([.. items])))
            Interlocked.Increment(ref _fragments);
        return null;
    }

    /// <summary>Text with value markers, as lines: the first and last (partial: they join the neighbours'), and those between.</summary>
    private Fragment Compile(string text, Func<string, string> wrap)
    {
        var lines = text.Split('\n');
        var middle = new List<Run>();
        var shared = new List<string>();
        void Flush()
        {
            if (shared.Count == 0) return;
            var joined = wrap(string.Join('\n', shared));
            var wire = WireText.ToWire(Encoding.UTF8.GetBytes(joined), newLine: true);
            middle.Add(new Run(joined, wire, MailLines.LongestLine(wire), null));
            shared.Clear();
        }
        for (var i = 1; i < lines.Length - 1; i++)
        {
            if (lines[i].Contains(prefix, StringComparison.Ordinal))
            {
                Flush();
                middle.Add(new Run(null, null, 0, Cut(lines[i])));
            }
            else
            {
                shared.Add(lines[i]);
            }
        }
        Flush();
        var bytes = Encoding.UTF8.GetByteCount(lines[0]) + (lines.Length > 1 ? Encoding.UTF8.GetByteCount(lines[^1]) + 1 : 0)
            + middle.Sum(r => r.Text is { } t ? Encoding.UTF8.GetByteCount(t) + 1 : r.Line!.Sum(p => p.Text is { } s ? Encoding.UTF8.GetByteCount(s) : p.Length) + 1);
        return new Fragment(text, Cut(lines[0]), lines.Length > 1, [.. middle], lines.Length > 1 ? Cut(lines[^1]) : [], bytes);
    }

    /// <summary>Literal text and value markers: a (address), u (unsubscribe), r (preferences), m/l (feedback of a paper), p (position).</summary>
    private Piece[] Cut(string text)
    {
        var pieces = new List<Piece>();
        var start = 0;
        while (true)
        {
            var at = text.IndexOf(prefix, start, StringComparison.Ordinal);
            var end = at < 0 ? -1 : text.IndexOf('~', at + prefix.Length);
            if (at < 0 || end < 0)
                break;
            if (at > start)
                pieces.Add(new Piece(text[start..at], ' ', 0, 0));
            var kind = text[at + prefix.Length];
            var body = text[(at + prefix.Length + 1)..end];
            var digits = body.IndexOf('.') is var dot and >= 0 ? body[..dot] : body;
            pieces.Add(new Piece(null, kind, digits.Length > 0 ? long.Parse(digits, CultureInfo.InvariantCulture) : 0, end + 1 - at));
            start = end + 1;
        }
        if (start < text.Length || pieces.Count == 0)
            pieces.Add(new Piece(text[start..], ' ', 0, 0));
        return [.. pieces];
    }

    private static string Join(Piece[] pieces, ReaderValues values, int card)
    {
        if (pieces is [{ Text: { } only }])
            return only;
        var builder = new StringBuilder();
        foreach (var piece in pieces)
            builder.Append(piece.Text ?? values.Value(piece, card));
        return builder.ToString();
    }

    /// <summary>Writes a part: the shared runs as they are, each line where fragments meet or a value sits made for this reader.</summary>
    public static void Write(List<(Fragment Fragment, int Card)> fragments, ReaderValues values, Func<string, string> wrap, IPartSink sink, LineCache? lines = null)
    {
        // A line without a personal value (only text and positions) is the same for every reader who has it: made once.
        void Emit(string text, bool personal)
        {
            if (!personal && lines?.Get(text, wrap) is { } run)
                sink.Shared(run);
            else
                sink.Line(wrap(text), newLine: true);
        }
        var personal = false;
        var line = new StringBuilder();
        // The fragment whose literal tail is all the current line holds: where two cards meet without values in between,
        // their line is the same for every reader with them in this order, made once (Fragment.Joined).
        Fragment? tailOnly = null;
        foreach (var (fragment, card) in fragments)
        {
            if (!fragment.HasNewline)
            {
                personal |= Append(line, fragment.Head, values, card);
                tailOnly = null;
                continue;
            }
            if (tailOnly is not null && fragment.HeadText is { } head && tailOnly.Joined(fragment, head, wrap) is { } joined)
            {
                sink.Shared(joined);
            }
            else
            {
                personal |= Append(line, fragment.Head, values, card);
                Emit(line.ToString(), personal);
            }
            line.Clear();
            foreach (var run in fragment.Middle)
            {
                if (run.Text is not null)
                    sink.Shared(run);
                else
                    Emit(Join(run.Line!, values, card), Personal(run.Line!));
            }
            personal = Append(line, fragment.Tail, values, card);
            tailOnly = fragment.TailText is not null ? fragment : null;
        }
        sink.Line(wrap(line.ToString()), newLine: false);
    }

    /// <summary>Appends the pieces; true when one was a personal value (address, links), not text or a position.</summary>
    private static bool Append(StringBuilder line, Piece[] pieces, ReaderValues values, int card)
    {
        var personal = false;
        foreach (var piece in pieces)
        {
            line.Append(piece.Text ?? values.Value(piece, card));
            personal |= piece.Text is null && piece.Kind != 'p';
        }
        return personal;
    }

    private static bool Personal(Piece[] pieces)
    {
        foreach (var piece in pieces)
            if (piece.Text is null && piece.Kind != 'p')
                return true;
        return false;
    }

    /// <summary>Lines without a personal value, wrapped and wire-ready, by their text (one part of one issue's readers).</summary>
    internal sealed class LineCache
    {
        /// <summary>Past this many lines (about a card's numbered lines at every position), new ones are made per reader.</summary>
        private const int MaxLines = 20_000;

        private readonly ConcurrentDictionary<string, Run> _runs = new(StringComparer.Ordinal);
        private int _count;

        public Run? Get(string text, Func<string, string> wrap)
        {
            if (_runs.TryGetValue(text, out var run))
                return run;
            if (Volatile.Read(ref _count) >= MaxLines)
                return null;
            var wrapped = wrap(text);
            var wire = WireText.ToWire(Encoding.UTF8.GetBytes(wrapped), newLine: true);
            if (_runs.TryAdd(text, run = new Run(wrapped, wire, MailLines.LongestLine(wire), null)))
                Interlocked.Increment(ref _count);
            return run;
        }
    }

    internal interface IPartSink
    {
        void Shared(Run run);

        void Line(string text, bool newLine);
    }

    /// <summary>The wire form: shared runs as they are, each reader line converted.</summary>
    internal sealed class WireSink : IPartSink
    {
        private readonly List<ReadOnlyMemory<byte>> _runs = [];
        private int _longest;

        public void Shared(Run run)
        {
            _runs.Add(run.Wire!);
            _longest = Math.Max(_longest, run.Longest);
        }

        public void Line(string text, bool newLine)
        {
            var wire = WireText.ToWire(Encoding.UTF8.GetBytes(text), newLine);
            _runs.Add(wire);
            _longest = Math.Max(_longest, MailLines.LongestLine(wire));
        }

        public WireBody Body() => new(_runs, _longest);
    }

    /// <summary>The text form (LF line ends), as a full render gives it.</summary>
    internal sealed class TextSink : IPartSink
    {
        private readonly StringBuilder _text = new();

        public void Shared(Run run) => _text.Append(run.Text).Append('\n');

        public void Line(string text, bool newLine)
        {
            _text.Append(text);
            if (newLine)
                _text.Append('\n');
        }

        public override string ToString() => _text.ToString();
    }

    /// <summary>One reader's values, each feedback link made once for both parts.</summary>
    internal sealed class ReaderValues(Issue issue, DigestRecipient recipient)
    {
        private readonly string?[] _links = new string?[2 * issue.PaperCount];

        public DigestRecipient Recipient => recipient;

        private IssueEntry Entry(int card) => card < issue.Entries.Count ? issue.Entries[card] : issue.More[card - issue.Entries.Count];

        public string Value(Piece piece, int card)
        {
            switch (piece.Kind)
            {
                case 'a': return recipient.Email;
                case 'u': return recipient.UnsubscribeUrl;
                case 'r': return recipient.PreferencesUrl;
            }
            // A paper's value: its card's own (almost always), else found by id.
            if (card < 0 || Entry(card).EntryId != piece.Entry)
                card = FindCard(piece.Entry);
            if (card < 0)
                return "";
            if (piece.Kind == 'p')
                return Entry(card).Position.ToString(CultureInfo.InvariantCulture);
            var slot = 2 * card + (piece.Kind == 'm' ? 0 : 1);
            return _links[slot] ??= recipient.Feedback?.Invoke(piece.Entry, piece.Kind == 'm') ?? "";
        }

        private int FindCard(long entryId)
        {
            for (var i = 0; i < issue.PaperCount; i++)
                if (Entry(i).EntryId == entryId)
                    return i;
            return -1;
        }
    }

    internal sealed record Assembled(string Subject, List<(Fragment Fragment, int Card)> Html, List<(Fragment Fragment, int Card)> Text, ReaderValues Values, int[] Levels,
        LineCache HtmlLines, LineCache TextLines);

    private sealed record Skeleton(SkeletonItem[] Items);

    /// <summary>Literal text, or (<see cref="Text"/> null) the slot of the paper loop at source offset <see cref="Loop"/> over list <see cref="List"/> (0 full, 1 more).</summary>
    private sealed record SkeletonItem(Fragment? Text, int Loop, int List);

    private readonly record struct CardKey(int Loop, int List, long EntryId, int Level, string Why, int Score, string Title, int SummaryLength);

    /// <summary>Literal text (<see cref="Text"/>), or the value of kind <see cref="Kind"/> (of paper <see cref="Entry"/>), its marker <see cref="Length"/> long.</summary>
    internal readonly record struct Piece(string? Text, char Kind, long Entry, int Length);

    /// <summary>Shared lines (text, wire form and longest line) or one line holding values (<see cref="Line"/>).</summary>
    internal sealed record Run(string? Text, byte[]? Wire, int Longest, Piece[]? Line);

    /// <summary>A card or a stretch of skeleton as lines: the partial first (<see cref="Head"/>) and last (<see cref="Tail"/>), those between.</summary>
    internal sealed record Fragment(string Source, Piece[] Head, bool HasNewline, Run[] Middle, Piece[] Tail, int Bytes)
    {
        /// <summary>How many following fragments one keeps the joined line for (cards of one loop: about its paper count).</summary>
        private const int MaxJoined = 256;

        private ConcurrentDictionary<Fragment, Run>? _joined;

        public bool Same(Fragment other) => string.Equals(Source, other.Source, StringComparison.Ordinal);

        /// <summary>The first line's text when it holds no value, else null.</summary>
        public string? HeadText { get; } = Literal(Head);

        /// <summary>The last line's text when it holds no value, else null.</summary>
        public string? TailText { get; } = Literal(Tail);

        private static string? Literal(Piece[] pieces) => pieces.All(p => p.Text is not null) ? string.Concat(pieces.Select(p => p.Text)) : null;

        /// <summary>The line where this fragment's tail meets <paramref name="next"/>'s head, wrapped and wire-ready, made once; null past the cap.</summary>
        public Run? Joined(Fragment next, string nextHead, Func<string, string> wrap)
        {
            var joined = _joined ??= new ConcurrentDictionary<Fragment, Run>(ReferenceEqualityComparer.Instance);
            if (joined.TryGetValue(next, out var run))
                return run;
            if (joined.Count >= MaxJoined)
                return null;
            var text = wrap(TailText + nextHead);
            var wire = WireText.ToWire(Encoding.UTF8.GetBytes(text), newLine: true);
            return joined.GetOrAdd(next, new Run(text, wire, MailLines.LongestLine(wire), null));
        }
    }
}
