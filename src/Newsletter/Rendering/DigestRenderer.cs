using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Model;
using Scriban.Runtime;

namespace Newsletter.Rendering;

/// <summary>
/// Renders a digest through the operator's templates. Templates see plain data only (strings,
/// numbers, lists), never services.
/// </summary>
/// <remarks>
/// Every reader of a digest (the papers one preference group gets from an issue, an
/// <see cref="Issue"/> instance) gets the same papers; only the address and the signed links differ.
/// So a digest is rendered (and its CSS inlined) once per group, with markers in place of the
/// personal values, and each reader's copy is spliced together from the pieces. The splice is checked
/// against a full render once per template version (on the first digest rendered with it); a template that transforms a
/// personal value (e.g. url-encodes it) fails the check and is rendered in full for every reader,
/// as is any reader whose values contain characters that escaping would change.
/// A digest met for the first time (each reader's own, with a learned order: one digest per reader) is instead
/// assembled from the issue's cards (<see cref="CardAssembly"/>: each paper's card rendered once per issue, put in the
/// reader's order), checked the same way once per template version; a digest met a second time is shared by a group
/// and is prepared and spliced as above.
/// </remarks>
public sealed class DigestRenderer(TemplateRenderer templates, IOptions<NewsletterOptions> options, ILogger<DigestRenderer> logger)
{
    public const string SubjectTemplate = "digest.subject.sbn";
    public const string HtmlTemplate = "digest.html.sbn";
    public const string TextTemplate = "digest.txt.sbn";

    public static readonly string[] Required = [SubjectTemplate, HtmlTemplate, TextTemplate];

    // Letters, digits and the few symbols of addresses and our links that no escaper rewrites.
    private static readonly SearchValues<char> Plain = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@._-+/:?=~");

    private static readonly DigestRecipient Probe = new(
        "probe.reader+check@example.org",
        "https://probe.example.org/unsubscribe?token=UHJvYmU.c2lnbmF0dXJl",
        "https://probe.example.org/preferences?token=UHJvYmU.c2lnbmF0dXJm",
        static (entryId, more) => $"https://probe.example.org/feedback?token=UHJvYmU{entryId}{(more ? "m" : "l")}");

    // One prepared render per issue with feedback links (readers) and one without (a test send to a stranger, benchmarks).
    private readonly ConditionalWeakTable<Issue, Prepared> _prepared = new();
    private readonly ConditionalWeakTable<Issue, Prepared> _preparedWithoutFeedback = new();
    private readonly string _marker = "zq" + Guid.NewGuid().ToString("N")[..12] + "mark";

    private const int HtmlWidth = 900;
    private const int TextWidth = 76;

    // How each part's lines are wrapped, the same way in a full render and in a splice.
    private static readonly Func<string, string> WrapHtml = static html => LineWrapper.Wrap(html, HtmlWidth);
    private static readonly Func<string, string> WrapText = static text => LineWrapper.WrapText(text, TextWidth);

    public RenderedDigest Render(Issue issue, DigestRecipient recipient)
    {
        if (!IsPlain(issue, recipient))
            return RenderFully(issue, recipient);
        if (Assemble(issue, recipient) is { } assembled)
            return new RenderedDigest(assembled.Subject, Text(assembled.Html, assembled.Values, WrapHtml, assembled.HtmlLines), Text(assembled.Text, assembled.Values, WrapText, assembled.TextLines));
        return Prepare(issue, recipient) is { Spliceable: true } prepared ? prepared.Splice(recipient) : RenderFully(issue, recipient);
    }

    /// <summary>The delivery path: the bodies as UTF-8 bytes, ready for the wire.</summary>
    public EncodedDigest RenderEncoded(Issue issue, DigestRecipient recipient)
    {
        if (IsPlain(issue, recipient) && Assemble(issue, recipient) is { } assembled)
            return new EncodedDigest(assembled.Subject, Encoding.UTF8.GetBytes(Text(assembled.Html, assembled.Values, WrapHtml, assembled.HtmlLines)),
                Encoding.UTF8.GetBytes(Text(assembled.Text, assembled.Values, WrapText, assembled.TextLines)));
        if (IsPlain(issue, recipient) && Prepare(issue, recipient) is { Spliceable: true } prepared)
            return prepared.SpliceEncoded(recipient);
        var full = RenderFully(issue, recipient);
        return new EncodedDigest(full.Subject, Encoding.UTF8.GetBytes(full.Html), Encoding.UTF8.GetBytes(full.Text));
    }

    /// <summary>
    /// The delivery path: the bodies wire-ready (CRLF, 8-bit, cleaned), as runs. The runs every reader
    /// of the digest shares were converted once, when the digest was prepared; per reader only the
    /// lines holding their address and links are spliced, wrapped and converted.
    /// </summary>
    public WireDigest RenderWire(Issue issue, DigestRecipient recipient)
    {
        if (IsPlain(issue, recipient) && Assemble(issue, recipient) is { } assembled)
            return new WireDigest(assembled.Subject, Wire(assembled.Html, assembled.Values, WrapHtml, assembled.HtmlLines),
                Wire(assembled.Text, assembled.Values, WrapText, assembled.TextLines));
        if (IsPlain(issue, recipient) && Prepare(issue, recipient) is { Spliceable: true } prepared)
            return prepared.SpliceWire(recipient);
        var full = RenderFully(issue, recipient);
        return new WireDigest(full.Subject, WireText.Body(Encoding.UTF8.GetBytes(full.Html)), WireText.Body(Encoding.UTF8.GetBytes(full.Text)));
    }

    private static string Text(List<(CardAssembly.Fragment, int)> fragments, CardAssembly.ReaderValues values, Func<string, string> wrap, CardAssembly.LineCache? lines = null)
    {
        var sink = new CardAssembly.TextSink();
        CardAssembly.Write(fragments, values, wrap, sink, lines);
        return sink.ToString();
    }

    private static WireBody Wire(List<(CardAssembly.Fragment, int)> fragments, CardAssembly.ReaderValues values, Func<string, string> wrap, CardAssembly.LineCache? lines = null)
    {
        var sink = new CardAssembly.WireSink();
        CardAssembly.Write(fragments, values, wrap, sink, lines);
        return sink.Body();
    }

    // Readers seen per digest (Issue instance): the first AssembledReaders readers of a digest are assembled from the
    // issue's cards; a digest with more is a group that shares it, prepared once and spliced (cheaper per reader, but
    // the preparing costs a full render with CSS inlining and size fitting: ~30 assembled copies). Learning readers
    // often share an order with one or two others: preparing at the second reader made those cost a full render each.
    private readonly ConditionalWeakTable<Issue, StrongBox<int>> _seen = new();

    private const int AssembledReaders = 16;
    private readonly List<(AssemblyKey Key, TemplateVersions Versions, CardAssembly Assembly)> _assemblies = [];
    private (TemplateVersions Versions, bool Assembles)? _assemblyVerdict, _assemblyVerdictWithoutFeedback;

    /// <summary>How many issues' cards are kept (a run sends one or two dates; a preview another).</summary>
    private const int KeptAssemblies = 4;

    private sealed record AssemblyKey(long IssueId, DateOnly Date, string Cadence, bool Feedback);

    /// <summary>The reader's digest assembled from the issue's cards (<see cref="CardAssembly"/>), or null to prepare or render it instead.</summary>
    private CardAssembly.Assembled? Assemble(Issue issue, DigestRecipient recipient)
    {
        if (_prepared.TryGetValue(issue, out _) || _preparedWithoutFeedback.TryGetValue(issue, out _)
            || Interlocked.Increment(ref _seen.GetValue(issue, static _ => new StrongBox<int>()).Value) > AssembledReaders)
            return null;
        if (issue.PaperCount == 0 || !DistinctPapers(issue))
            return null;
        var feedback = recipient.Feedback is not null;
        var versions = new TemplateVersions(templates, SubjectTemplate, HtmlTemplate, TextTemplate);
        if ((feedback ? _assemblyVerdict : _assemblyVerdictWithoutFeedback) is { } known && known.Versions == versions && !known.Assembles)
            return null;
        CardAssembly assembly;
        var key = new AssemblyKey(issue.Id, issue.Date, issue.Cadence, feedback);
        lock (_assemblies)
        {
            var index = _assemblies.FindIndex(a => a.Key == key && a.Versions == versions);
            if (index >= 0)
            {
                assembly = _assemblies[index].Assembly;
            }
            else
            {
                assembly = new CardAssembly(_marker + "c", FeedbackLength(issue, recipient), feedback, (i, r, l) => Model(i, r, l), (e, level, r) => EntryModel(e, level, r.Feedback),
                    (name, model, marks) => templates.Render(name, model, null, marks), WrapHtml, WrapText);
                _assemblies.RemoveAll(a => a.Key == key || a.Versions != versions);
                _assemblies.Add((key, versions, assembly));
                if (_assemblies.Count > KeptAssemblies)
                    _assemblies.RemoveAt(0);
                if ((feedback ? _assemblyVerdict : _assemblyVerdictWithoutFeedback) is not { } verdict || verdict.Versions != versions)
                {
                    var assembles = AssemblyHolds(assembly, issue, feedback);
                    if (feedback) _assemblyVerdict = (versions, assembles);
                    else _assemblyVerdictWithoutFeedback = (versions, assembles);
                    if (!assembles)
                    {
                        logger.LogWarning("The digest templates do not render each paper's card on its own ({Reason}); every reader with a digest of their own (a learned order) is rendered in full, which is much slower",
                            assembly.Broken ?? "an assembled digest differs from a full render");
                        return null;
                    }
                }
            }
        }
        // A reader's links longer than the markers the sizes were measured with: the budget would not hold exactly.
        if (feedback && FeedbackLength(issue, recipient) - LinkSlack > assembly.FeedbackLength)
            return null;
        var assembled = assembly.Assemble(issue, recipient);
        if (assembled is not null)
            Interlocked.Increment(ref _assembledCount);
        return assembled;
    }

    private int _assembledCount;

    /// <summary>How many readers' copies were assembled from cards (tests and benchmarks).</summary>
    internal int AssembledCount => _assembledCount;

    /// <summary>How many skeleton renders the kept issues' readers took: those whose skeleton was not known by what it depends on (tests and benchmarks).</summary>
    internal int SkeletonRenders
    {
        get
        {
            lock (_assemblies)
                return _assemblies.Sum(a => a.Assembly.SkeletonRenders);
        }
    }

    /// <summary>How many marked renders (templates run and CSS inlined) the kept issues' cards took (tests and benchmarks).</summary>
    internal int CardRenders
    {
        get
        {
            lock (_assemblies)
                return _assemblies.Sum(a => a.Assembly.MarkedRenders);
        }
    }

    private static bool DistinctPapers(Issue issue)
    {
        var ids = new HashSet<long>();
        foreach (var entry in issue.Entries.Concat(issue.More))
            if (entry.EntryId == 0 || !ids.Add(entry.EntryId))
                return false;
        return true;
    }

    /// <summary>
    /// Whether cards assemble exactly: the probe reader's copies of this digest, of it in reverse order and of it with the
    /// last full paper moved to the compact list are assembled from the cards and compared with full renders (every
    /// byte, text and wire form). Once per template version.
    /// </summary>
    private bool AssemblyHolds(CardAssembly assembly, Issue issue, bool feedback)
    {
        var probe = feedback ? Probe : Probe with { Feedback = null };
        static IReadOnlyList<IssueEntry> Numbered(IEnumerable<IssueEntry> entries, int from) => entries.Select((e, i) => e with { Position = from + i }).ToList();
        var reversed = Numbered(issue.Entries.Reverse(), 1);
        var probes = new List<Issue> { issue, issue with { Entries = reversed, More = Numbered(issue.More.Reverse(), reversed.Count + 1) } };
        if (issue.Entries.Count > 1)
        {
            var kept = Numbered(issue.Entries.Take(issue.Entries.Count - 1), 1);
            probes.Add(issue with { Entries = kept, More = Numbered(issue.Entries.TakeLast(1).Concat(issue.More), kept.Count + 1) });
        }
        foreach (var candidate in probes)
        {
            if (assembly.Assemble(candidate, probe) is not { } assembled)
                return false;
            var full = RenderFully(candidate, probe, assembled.Levels);
            var html = Text(assembled.Html, assembled.Values, WrapHtml, assembled.HtmlLines);
            var text = Text(assembled.Text, assembled.Values, WrapText, assembled.TextLines);
            if (full != new RenderedDigest(assembled.Subject, html, text)
                || !Wire(assembled.Html, assembled.Values, WrapHtml, assembled.HtmlLines).ToArray().AsSpan().SequenceEqual(WireText.Body(Encoding.UTF8.GetBytes(full.Html)).ToArray())
                || !Wire(assembled.Text, assembled.Values, WrapText, assembled.TextLines).ToArray().AsSpan().SequenceEqual(WireText.Body(Encoding.UTF8.GetBytes(full.Text)).ToArray()))
                return false;
        }
        return true;
    }

    private Prepared Prepare(Issue issue, DigestRecipient recipient)
    {
        var feedback = recipient.Feedback is not null;
        var current = new TemplateVersions(templates, SubjectTemplate, HtmlTemplate, TextTemplate);
        var cache = feedback ? _prepared : _preparedWithoutFeedback;
        if (cache.TryGetValue(issue, out var prepared) && prepared.Versions == current)
            return prepared;
        lock (cache)
        {
            return cache.TryGetValue(issue, out prepared) && prepared.Versions == current ? prepared : PrepareAndCache(issue, current, feedback, FeedbackLength(issue, recipient), cache);
        }
    }

    /// <summary>The plain way: the whole template for one reader (shortened as every reader's copy is, <see cref="DigestSizeBudget"/>).</summary>
    public RenderedDigest RenderFully(Issue issue, DigestRecipient recipient) => RenderFully(issue, recipient, Prepare(issue, recipient).Levels);

    private RenderedDigest RenderFully(Issue issue, DigestRecipient recipient, int[] levels) => Finish(RenderRaw(issue, recipient, levels));

    /// <summary>The size of each part of <paramref name="issue"/> as readers get it, and whether it is within <see cref="DigestSizeBudget.PartLimit"/> with the real personal values.</summary>
    public (int HtmlBytes, int TextBytes) MeasureParts(Issue issue, DigestRecipient recipient)
    {
        var digest = Render(issue, recipient);
        return (Encoding.UTF8.GetByteCount(digest.Html.Replace("\n", "\r\n", StringComparison.Ordinal)),
            Encoding.UTF8.GetByteCount(digest.Text.Replace("\n", "\r\n", StringComparison.Ordinal)));
    }

    private static RenderedDigest Finish(RenderedDigest raw) =>
        new(TemplateRenderer.HeaderSafe(raw.Subject), WrapHtml(raw.Html), WrapText(raw.Text));

    /// <summary>Rendered, CSS inlined, not yet cleaned or wrapped (those come after splicing).</summary>
    private RenderedDigest RenderRaw(Issue issue, DigestRecipient recipient, int[]? levels)
    {
        var model = Model(issue, recipient, levels);
        return new RenderedDigest(
            templates.Render(SubjectTemplate, model),
            MailHtml.Inline(templates.Render(HtmlTemplate, model)),
            templates.Render(TextTemplate, model));
    }

    /// <summary>
    /// How long this reader's feedback links are, with room for longer ids: the feedback markers are made this long,
    /// so the size budget, fitted on the marked render, counts the real links' bytes (two per paper, in both parts).
    /// </summary>
    private static int FeedbackLength(Issue issue, DigestRecipient recipient) =>
        recipient.Feedback is { } links && Papers(issue) is [var first, ..] ? Math.Max(links(first, true).Length, links(first, false).Length) + LinkSlack : 0;

    /// <summary>
    /// Room for longer links than the first reader's (a token grows with the digits of the reader's id): the size budget
    /// is fitted with markers this much longer, and a reader whose links outgrow them is rendered in full. More room
    /// makes every heavy day's budget that much tighter (two links per paper, in both parts).
    /// </summary>
    private const int LinkSlack = 6;

    private Prepared PrepareAndCache(Issue issue, TemplateVersions versions, bool feedback, int feedbackLength, ConditionalWeakTable<Issue, Prepared> cache)
    {
        // Slots 0-2: address and links; then two per paper (more, less like this), in the issue's order
        // (none without feedback: an empty marker would match everywhere).
        var papers = feedback ? Papers(issue) : [];
        var slotOf = papers.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => 3 + 2 * p.i);
        var markers = new DigestRecipient(_marker + "0x", _marker + "1x", _marker + "2x",
            feedback ? (entryId, more) => (_marker + (slotOf[entryId] + (more ? 0 : 1)).ToString(CultureInfo.InvariantCulture) + "x").PadRight(feedbackLength, 'x') : null);
        var probe = feedback ? Probe : Probe with { Feedback = null };
        // How much of each paper fits the size budget is decided here, once per digest, and holds for every reader.
        RenderedDigest? raw = null;
        var (levels, _, fits) = DigestSizeBudget.Fit(issue, levels => Finish(raw = RenderRaw(issue, markers, levels)));
        if (!fits && !ReferenceEquals(Interlocked.Exchange(ref _oversizeWarned, versions), versions))
            logger.LogWarning("A digest of {Papers} papers is over {Limit:N0} bytes in one part even with every abstract shortened: the templates add too much per paper (Gmail clips such mail and hides its unsubscribe link); lower MaxEntriesPerIssue or shorten the templates",
                issue.PaperCount, DigestSizeBudget.PartLimit);
        var prepared = new Prepared(versions, raw!, Prepared.Values(markers, papers), papers, levels);
        // Whether the templates pass personal values through unchanged is a property of the
        // templates: checked once per template version (on the first digest), not once per
        // preference group, where the second full render would cost as much as the first.
        if ((feedback ? _verdict : _verdictWithoutFeedback) is { } verdict && verdict.Versions == versions)
        {
            prepared.Spliceable = verdict.Spliceable;
        }
        else
        {
            prepared.Spliceable = prepared.Splice(probe) == RenderFully(issue, probe, levels);
            if (feedback) _verdict = (versions, prepared.Spliceable);
            else _verdictWithoutFeedback = (versions, prepared.Spliceable);
            if (!prepared.Spliceable)
                logger.LogWarning("The digest templates transform a personal value (address or link); every digest is rendered in full, which is much slower");
        }
        cache.AddOrUpdate(issue, prepared);
        return prepared;
    }

    private (TemplateVersions Versions, bool Spliceable)? _verdict, _verdictWithoutFeedback;

    private TemplateVersions? _oversizeWarned;

    /// <summary>
    /// Whether the reader's values pass through escaping unchanged, so the splice holds. Feedback links all have one
    /// form (the base URL, then a base64url token), so the first paper's stand for the rest: minting every token twice
    /// per reader would cost more than the check saves.
    /// </summary>
    private static bool IsPlain(Issue issue, DigestRecipient recipient) =>
        !recipient.Email.AsSpan().ContainsAnyExcept(Plain)
        && !recipient.UnsubscribeUrl.AsSpan().ContainsAnyExcept(Plain)
        && !recipient.PreferencesUrl.AsSpan().ContainsAnyExcept(Plain)
        && (recipient.Feedback is null || Papers(issue) is not [var first, ..]
            || (!recipient.Feedback(first, true).AsSpan().ContainsAnyExcept(Plain) && !recipient.Feedback(first, false).AsSpan().ContainsAnyExcept(Plain)));

    /// <summary>The entry ids of an issue's papers, full then compact, as the feedback slots follow them (0: a sample paper without a row).</summary>
    private static long[] Papers(Issue issue) => issue.Entries.Concat(issue.More).Select(e => e.EntryId).Where(id => id != 0).Distinct().ToArray();

    /// <summary>Which parsed templates a prepared issue was made with: a hot reload makes it stale.</summary>
    private sealed record TemplateVersions(object Subject, object Html, object Text)
    {
        public TemplateVersions(TemplateRenderer templates, string subject, string html, string text)
            : this(templates.Current(subject), templates.Current(html), templates.Current(text)) { }
    }

    /// <summary>An issue rendered once, cut at the personal values.</summary>
    /// <remarks>
    /// Wrapping works line by line, so lines without a personal value are wrapped (and UTF-8
    /// encoded) here once; only the few lines that hold a value are spliced and wrapped per reader.
    /// </remarks>
    private sealed class Prepared(TemplateVersions versions, RenderedDigest raw, string[] markers, long[] papers, int[] levels)
    {
        /// <summary>Each full entry's <see cref="DigestSizeBudget"/> level.</summary>
        public int[] Levels { get; } = levels;

        private readonly Piece[] _subject = Cut(raw.Subject, markers);
        private readonly Segment[] _html = Segments(raw.Html, markers, WrapHtml);
        private readonly Segment[] _text = Segments(raw.Text, markers, WrapText);

        public TemplateVersions Versions { get; } = versions;

        public bool Spliceable { get; set; }

        public RenderedDigest Splice(DigestRecipient recipient)
        {
            var values = Values(recipient);
            return new RenderedDigest(Subject(values), Encoding.UTF8.GetString(Join(_html, values, WrapHtml)), Encoding.UTF8.GetString(Join(_text, values, WrapText)));
        }

        public EncodedDigest SpliceEncoded(DigestRecipient recipient)
        {
            var values = Values(recipient);
            return new EncodedDigest(Subject(values), Join(_html, values, WrapHtml), Join(_text, values, WrapText));
        }

        public WireDigest SpliceWire(DigestRecipient recipient)
        {
            var values = Values(recipient);
            return new WireDigest(Subject(values), Wire(_html, values, WrapHtml), Wire(_text, values, WrapText));
        }

        /// <summary>The shared runs as they are; each personal line spliced, wrapped and made wire-ready, with the line end the join gives it.</summary>
        private static WireBody Wire(Segment[] segments, string[] values, Func<string, string> wrap)
        {
            var runs = new ReadOnlyMemory<byte>[segments.Length];
            var longest = 0;
            for (var i = 0; i < segments.Length; i++)
            {
                if (segments[i].Wire is { } shared)
                {
                    runs[i] = shared;
                    longest = Math.Max(longest, segments[i].Longest);
                    continue;
                }
                var line = WireText.ToWire(Encoding.UTF8.GetBytes(wrap(Join(segments[i].Line!, values))), newLine: i < segments.Length - 1);
                runs[i] = line;
                longest = Math.Max(longest, MailLines.LongestLine(line));
            }
            return new WireBody(runs, longest);
        }

        private string[] Values(DigestRecipient recipient) => Values(recipient, papers);

        /// <summary>A reader's values in slot order: address, unsubscribe, preferences, then more/less per paper.</summary>
        public static string[] Values(DigestRecipient recipient, long[] papers)
        {
            var values = new string[3 + 2 * papers.Length];
            (values[0], values[1], values[2]) = (recipient.Email, recipient.UnsubscribeUrl, recipient.PreferencesUrl);
            for (var i = 0; i < papers.Length; i++)
            {
                values[3 + 2 * i] = recipient.Feedback?.Invoke(papers[i], true) ?? "";
                values[4 + 2 * i] = recipient.Feedback?.Invoke(papers[i], false) ?? "";
            }
            return values;
        }

        private string Subject(string[] values) => TemplateRenderer.HeaderSafe(Join(_subject, values));

        private static byte[] Join(Segment[] segments, string[] values, Func<string, string> wrap)
        {
            // Personal lines first (small), then one exact-size copy of everything.
            var personal = new byte[segments.Length][];
            var length = segments.Length - 1; // the newlines between segments
            for (var i = 0; i < segments.Length; i++)
            {
                personal[i] = segments[i].Utf8 ?? Encoding.UTF8.GetBytes(wrap(Join(segments[i].Line!, values)));
                length += personal[i].Length;
            }
            var result = new byte[length];
            var position = 0;
            for (var i = 0; i < segments.Length; i++)
            {
                if (i > 0)
                    result[position++] = (byte)'\n';
                personal[i].CopyTo(result, position);
                position += personal[i].Length;
            }
            return result;
        }

        private static string Join(Piece[] pieces, string[] values)
        {
            var length = 0;
            foreach (var piece in pieces)
                length += piece.Text?.Length ?? values[piece.Slot].Length;
            return string.Create(length, (pieces, values), static (span, state) =>
            {
                foreach (var piece in state.pieces)
                {
                    var text = piece.Text ?? state.values[piece.Slot];
                    text.AsSpan().CopyTo(span);
                    span = span[text.Length..];
                }
            });
        }

        /// <summary>Runs of lines without a value become one pre-wrapped, pre-encoded segment; each line with a value stays a template.</summary>
        private static Segment[] Segments(string text, string[] markers, Func<string, string> wrap)
        {
            var segments = new List<Segment>();
            var run = new List<string>();
            void Flush()
            {
                if (run.Count == 0) return;
                segments.Add(new Segment(Encoding.UTF8.GetBytes(wrap(string.Join('\n', run))), null));
                run.Clear();
            }
            foreach (var line in text.Split('\n'))
            {
                if (markers.Any(m => line.Contains(m, StringComparison.Ordinal)))
                {
                    Flush();
                    segments.Add(new Segment(null, Cut(line, markers)));
                }
                else
                {
                    run.Add(line);
                }
            }
            Flush();
            // The shared runs in their wire form, each with the line end that joins it to the next, made once here.
            return segments.Select((segment, i) => segment.Utf8 is { } utf8
                ? segment with { Wire = WireText.ToWire(utf8, newLine: i < segments.Count - 1) }
                : segment).Select(segment => segment.Wire is { } wire ? segment with { Longest = MailLines.LongestLine(wire) } : segment).ToArray();
        }

        private static Piece[] Cut(string text, string[] markers)
        {
            var pieces = new List<Piece>();
            var start = 0;
            while (true)
            {
                var (index, slot) = (-1, -1);
                for (var m = 0; m < markers.Length; m++)
                {
                    var found = text.IndexOf(markers[m], start, StringComparison.Ordinal);
                    if (found >= 0 && (index < 0 || found < index))
                        (index, slot) = (found, m);
                }
                if (index < 0)
                    break;
                pieces.Add(new Piece(text[start..index], -1));
                pieces.Add(new Piece(null, slot));
                start = index + markers[slot].Length;
            }
            pieces.Add(new Piece(text[start..], -1));
            return pieces.ToArray();
        }

        /// <summary>Literal text, or (when <see cref="Text"/> is null) the personal value in <see cref="Slot"/>.</summary>
        private readonly record struct Piece(string? Text, int Slot);

        /// <summary>Pre-encoded lines (<see cref="Utf8"/>), or one line holding personal values (<see cref="Line"/>).</summary>
        private readonly record struct Segment(byte[]? Utf8, Piece[]? Line)
        {
            /// <summary>For pre-encoded lines: their wire form (<see cref="WireText"/>) and its longest line.</summary>
            public byte[]? Wire { get; init; }

            public int Longest { get; init; }
        }
    }

    /// <summary>What the digest templates see; <paramref name="levels"/> shortens full entries for the size budget (null: nothing shortened).</summary>
    internal ScriptObject Model(Issue issue, DigestRecipient recipient, int[]? levels = null)
    {
        return new ScriptObject
        {
            ["newsletter"] = NewsletterModel(options.Value),
            ["issue"] = IssueModel(issue, levels, recipient.Feedback),
            ["subscriber"] = new ScriptObject { ["email"] = recipient.Email },
            ["unsubscribe_url"] = recipient.UnsubscribeUrl,
            ["preferences_url"] = recipient.PreferencesUrl,
        };
    }

    /// <summary>
    /// The <c>issue</c> variable: the same for every reader of a group (so the splice is unaffected) and for the
    /// public archive page. <c>archive_url</c> is the day's public issue ("view in browser"), empty with the archive off.
    /// </summary>
    /// <paramref name="feedback"/> gives each paper's "more / less like this" links (markers when preparing a splice; null: none, as on the archive).
    public ScriptObject IssueModel(Issue issue, int[]? levels = null, Func<long, bool, string>? feedback = null) => new()
    {
        ["date"] = issue.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["date_text"] = issue.Date.ToString("dddd, d MMMM yyyy", CultureInfo.InvariantCulture),
        ["entry_count"] = issue.Entries.Count,
        ["entries"] = new ScriptArray(issue.Entries.Select((e, i) => EntryModel(e, levels?[i] ?? 0, feedback))),
        ["more_count"] = issue.More.Count,
        ["more"] = new ScriptArray(issue.More.Select(e => EntryModel(e, 0, feedback))),
        ["paper_count"] = issue.PaperCount,
        ["cadence"] = issue.Cadence,
        ["archive_url"] = ArchiveUrl(options.Value, issue.Date),
    };

    /// <summary>The public page of a date's issue, or "" when the archive is off.</summary>
    public static string ArchiveUrl(NewsletterOptions options, DateOnly date) => options.Archive.Enabled
        ? options.PublicBaseUrl.TrimEnd('/') + "/archive/" + date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
        : "";

    private static ScriptObject EntryModel(IssueEntry entry, int level, Func<long, bool, string>? feedback)
    {
        var summary = DigestSizeBudget.Summary(entry, level);
        var authors = DigestSizeBudget.Authors(entry.Authors, level).ToList();
        var card = DigestSizeBudget.Card(entry.Card, level);
        var keywords = card.AiKeywords ?? [];
        return new()
        {
        ["more_like_url"] = entry.EntryId != 0 ? feedback?.Invoke(entry.EntryId, true) ?? "" : "",
        ["less_like_url"] = entry.EntryId != 0 ? feedback?.Invoke(entry.EntryId, false) ?? "" : "",
        ["position"] = entry.Position,
        ["title"] = Printable(DigestSizeBudget.Title(entry.Title, level)),
        ["summary"] = Printable(summary),
        // The abstract was shortened for the size budget: the template links to the paper for the rest.
        ["summary_cut"] = summary.Length < entry.Summary.Length,
        ["authors"] = new ScriptArray(authors.Select(Printable)),
        ["authors_text"] = Printable(string.Join(", ", authors)),
        ["url"] = SafeLink(entry.Url),
        ["score"] = entry.Score,
        ["published"] = entry.PublishedAt?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "",
        ["source"] = Printable(entry.Source),
        ["why"] = Printable(entry.Why),
        // The card (what the source told beyond the abstract), as much of it as the size budget's level keeps.
        ["code_url"] = SafeLink(card.CodeUrl ?? ""),
        ["code_stars"] = card.CodeStars ?? 0,
        ["project_url"] = SafeLink(card.ProjectUrl ?? ""),
        ["discussion_url"] = SafeLink(card.DiscussionUrl ?? ""),
        ["comments"] = card.Comments ?? 0,
        ["organization"] = Printable(card.Organization ?? ""),
        ["ai_summary"] = Printable(card.AiSummary ?? ""),
        ["ai_keywords"] = new ScriptArray(keywords.Select(Printable)),
        ["ai_keywords_text"] = Printable(string.Join(", ", keywords)),
        };
    }

    /// <summary>Names a digest shows per paper. The stored list is whole (followed authors are matched on all of it); past this it ends with "et al.".</summary>
    public const int MaxAuthorsShown = 50;

    /// <summary>What every template knows about the newsletter itself.</summary>
    public static ScriptObject NewsletterModel(NewsletterOptions options) => new()
    {
        ["name"] = options.From.Name,
        ["home_url"] = options.PublicBaseUrl.TrimEnd('/') + "/",
        // The public archive and its feeds; empty with Archive:Enabled false, so a template can leave the links out.
        ["archive_url"] = options.Archive.Enabled ? options.PublicBaseUrl.TrimEnd('/') + "/archive" : "",
        ["atom_url"] = options.Archive.Enabled ? options.PublicBaseUrl.TrimEnd('/') + "/feed.xml" : "",
        ["json_feed_url"] = options.Archive.Enabled ? options.PublicBaseUrl.TrimEnd('/') + "/feed.json" : "",
    };

    // C0 and C1 controls and DEL: feed text is single-line, so none of them belongs in it (a NUL makes relays refuse the mail).
    private static readonly SearchValues<char> ControlChars = SearchValues.Create(
        new string([.. Enumerable.Range(0, 32).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)]));

    /// <summary>Feed text with every control character made a space.</summary>
    public static string Printable(string text)
    {
        if (!text.AsSpan().ContainsAny(ControlChars))
            return text;
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                span[i] = ControlChars.Contains(source[i]) ? ' ' : source[i];
        });
    }

    /// <summary>Only http(s) links from feeds become links; anything else (javascript:, data:) is dropped.</summary>
    private static string SafeLink(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" ? parsed.AbsoluteUri : "";
}
