using Newsletter.Delivery;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Rendering;

/// <summary>
/// The wire-ready runs (shared runs converted once per digest, personal lines per reader) give,
/// byte for byte, what MimeKit writes for the same message built the plain way: SMTP's CRLF form,
/// a pickup file's form, a 7-bit relay's re-encoding, a line too long for 8-bit, a template saved
/// with CRLF line ends, a stray control byte.
/// </summary>
public sealed class WireRunsTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static Issue SampleIssue(string summary = "An abstract long enough to be wrapped over several lines in the text part of the digest, with ümlauts and — dashes.") => new(0, new DateOnly(2025, 9, 8),
    [
        .. Enumerable.Range(1, 12).Select(n => new IssueEntry(n, $"Paper {n}: a title", summary, ["Ada Lovelace", "Alan Turing"], $"https://arxiv.org/abs/2509.{10000 + n}", 100 - n, null, "arxiv")),
    ])
    {
        More = [new IssueEntry(13, ".A title starting with a dot", "", [], "https://arxiv.org/abs/2509.20000", 1, null, "arxiv")],
    };

    private static DigestRecipient Reader(int i) =>
        new($"reader{i}@example.org", $"https://papers.example.org/unsubscribe?token=MS4{i}.c2ln", $"https://papers.example.org/preferences?token=Mi4{i}.c2ln");

    /// <summary>The message built from the wire runs and the one MimeKit builds from the joined bytes, written with the same options.</summary>
    private (byte[] Wire, byte[] Plain) Both(Issue issue, DigestRecipient reader, MimeKit.FormatOptions format, MimeKit.EncodingConstraint? constraint = null)
    {
        var renderer = _host.Service<DigestRenderer>();
        var builder = _host.Service<DigestMessageBuilder>();
        var date = new DateTimeOffset(2025, 9, 8, 7, 0, 0, TimeSpan.Zero);
        var wire = builder.Build(renderer.RenderWire(issue, reader), reader.Email, "<m.1@example.org>", reader.UnsubscribeUrl, date);
        var plain = builder.Build(renderer.RenderEncoded(issue, reader), reader.Email, "<m.1@example.org>", reader.UnsubscribeUrl, date);
        // The same multipart boundary in both (MimeKit draws a random one per message).
        ((MimeKit.Multipart)wire.Body!).Boundary = ((MimeKit.Multipart)plain.Body!).Boundary = "=-boundary-for-the-comparison";
        if (constraint is { } c)
        {
            wire.Prepare(c);
            plain.Prepare(c);
        }
        byte[] Write(MimeKit.MimeMessage message)
        {
            using var stream = new MemoryStream();
            message.WriteTo(format, stream);
            return stream.ToArray();
        }
        return (Write(wire), Write(plain));
    }

    private static MimeKit.FormatOptions Smtp => new() { NewLineFormat = MimeKit.NewLineFormat.Dos };

    [Fact]
    public void SplicedWireRunsAreByteIdenticalToMimeKitsOwnOutputForEveryReader()
    {
        var issue = SampleIssue();
        for (var i = 1; i <= 3; i++)
        {
            var (wire, plain) = Both(issue, Reader(i), Smtp);
            Assert.Equal(System.Text.Encoding.UTF8.GetString(plain), System.Text.Encoding.UTF8.GetString(wire));
            Assert.Equal(plain, wire);
            Assert.True(wire.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes($"reader{i}@example.org")) >= 0);
        }
    }

    [Fact]
    public void APickupFileA7BitRelayAndAReaderRenderedInFullGetMimeKitsBytesToo()
    {
        var issue = SampleIssue();
        var unix = new MimeKit.FormatOptions { NewLineFormat = MimeKit.NewLineFormat.Unix };
        var pickup = Both(issue, Reader(1), unix);
        Assert.Equal(pickup.Plain, pickup.Wire);
        var sevenBit = Both(issue, Reader(1), Smtp, MimeKit.EncodingConstraint.SevenBit);
        Assert.Equal(sevenBit.Plain, sevenBit.Wire);
        Assert.True(sevenBit.Wire.AsSpan().IndexOf("quoted-printable"u8) >= 0);
        // An address escaping would change is rendered in full, not spliced: the same bytes still.
        var unusual = new DigestRecipient("o'brien&co@example.org", Reader(2).UnsubscribeUrl, Reader(2).PreferencesUrl);
        var full = Both(issue, unusual, Smtp);
        Assert.Equal(full.Plain, full.Wire);
    }

    [Fact]
    public async Task CrlfTemplatesControlBytesAndOverlongLinesGiveMimeKitsBytes()
    {
        // A template saved with CRLF line ends (an editor on Windows).
        var templates = _host.CopyTemplates();
        foreach (var name in new[] { "digest.html.sbn", "digest.txt.sbn" })
        {
            var path = Path.Combine(templates, name);
            await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).ReplaceLineEndings("\r\n"));
        }
        // A NUL from a feed, and a 1,500-character token without a space (no wrap can break it: quoted-printable).
        var issue = SampleIssue("Text with a \u0000 NUL and " + new string('x', 1_500) + " after it.");

        var (wire, plain) = Both(issue, Reader(1), Smtp);

        Assert.Equal(System.Text.Encoding.UTF8.GetString(plain), System.Text.Encoding.UTF8.GetString(wire));
        Assert.Equal(plain, wire);
        Assert.DoesNotContain((byte)0, wire);
        Assert.True(wire.AsSpan().IndexOf("quoted-printable"u8) >= 0);
    }
}
