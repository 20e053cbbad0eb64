using System.Buffers;
using Microsoft.Extensions.Options;
using MimeKit;
using Newsletter.Configuration;
using Newsletter.Model;

namespace Newsletter.Delivery;

/// <summary>Builds outgoing MIME messages: multipart/alternative (text, then HTML) from the configured sender.</summary>
public sealed class DigestMessageBuilder(IOptions<NewsletterOptions> options)
{
    /// <summary>A digest: a list message, with the RFC 2369 / RFC 8058 unsubscribe headers and List-Id.</summary>
    public MimeMessage Build(RenderedDigest digest, string to, string messageId, string unsubscribeUrl, DateTimeOffset date)
    {
        var message = Build(digest.Subject, digest.Html, digest.Text, to, messageId, date);
        AddListHeaders(message, unsubscribeUrl);
        return message;
    }

    /// <summary>Mail clients show their own unsubscribe button and POST to it (RFC 2369, RFC 8058).</summary>
    private void AddListHeaders(MimeMessage message, string unsubscribeUrl)
    {
        var from = options.Value.From;
        message.Headers.Add("List-Unsubscribe", $"<{unsubscribeUrl}>");
        message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        message.Headers.Add("List-Id", $"{SafeListName(from.Name)} <digest.{from.Address[(from.Address.LastIndexOf('@') + 1)..]}>");
    }

    /// <summary>The delivery path: bodies arrive UTF-8 encoded and are used as they are (8bit; MimeKit re-encodes only for a 7-bit-only relay).</summary>
    public MimeMessage Build(EncodedDigest digest, string to, string messageId, string unsubscribeUrl, DateTimeOffset date)
    {
        var from = options.Value.From;
        var message = new MimeMessage
        {
            From = { new MailboxAddress(from.Name, from.Address) },
            To = { MailboxAddress.Parse(to) },
            Subject = digest.Subject,
            Date = date,
            MessageId = messageId.Trim('<', '>'),
            Body = new MultipartAlternative { Part("plain", digest.Text), Part("html", digest.Html) },
        };
        AddListHeaders(message, unsubscribeUrl);
        return message;
    }

    /// <summary>
    /// The delivery path: bodies arrive wire-ready (<see cref="WireBody"/>: CRLF, 8-bit, cleaned, the
    /// shared runs converted once per digest), and each part writes its runs out as they are. MimeKit
    /// still writes every header and the multipart structure; a 7-bit-only relay or a line over 998
    /// octets gets MimeKit's own encoding of the same bytes.
    /// </summary>
    public MimeMessage Build(WireDigest digest, string to, string messageId, string unsubscribeUrl, DateTimeOffset date)
    {
        var from = options.Value.From;
        var message = new MimeMessage
        {
            From = { new MailboxAddress(from.Name, from.Address) },
            To = { MailboxAddress.Parse(to) },
            Subject = digest.Subject,
            Date = date,
            MessageId = messageId.Trim('<', '>'),
            Body = new MultipartAlternative { new WireTextPart("plain", digest.Text), new WireTextPart("html", digest.Html) },
        };
        AddListHeaders(message, unsubscribeUrl);
        return message;
    }

    /// <summary>A text part whose content is wire-ready runs, written as they are when the output is CRLF and 8-bit (SMTP).</summary>
    private sealed class WireTextPart : TextPart
    {
        private readonly WireBody _body;
        private bool _materialized;

        public WireTextPart(string subtype, WireBody body) : base(subtype)
        {
            _body = body;
            // A content, read without copying, for whoever asks for it (TextBody); MimeKit's multipart
            // writer also ends a part that has content with the line end before the next boundary.
            Content = new MimeContent(new RunsStream(body));
            ContentTransferEncoding = body.LongestLine > MaxLineOctets ? ContentEncoding.QuotedPrintable : ContentEncoding.EightBit;
            ContentType.Charset = "utf-8";
        }

        public override void Prepare(EncodingConstraint constraint, int maxLineLength = 78)
        {
            if (constraint != EncodingConstraint.SevenBit)
                return;
            Materialize();
            base.Prepare(constraint, maxLineLength);
        }

        /// <summary>The runs as one content stream (LF line ends, as a part built the plain way holds them), for MimeKit's own writing.</summary>
        private void Materialize()
        {
            if (_materialized)
                return;
            _materialized = true;
            var bytes = _body.ToArray();
            var length = 0;
            for (var i = 0; i < bytes.Length; i++)
                if (!(bytes[i] == (byte)'\r' && i + 1 < bytes.Length && bytes[i + 1] == (byte)'\n'))
                    bytes[length++] = bytes[i];
            Content = new MimeContent(new MemoryStream(bytes, 0, length, writable: false));
        }

        private bool Direct(FormatOptions format) =>
            !_materialized && ContentTransferEncoding == ContentEncoding.EightBit && format.NewLineFormat == NewLineFormat.Dos;

        public override void WriteTo(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
        {
            if (!Direct(options))
            {
                Materialize();
                base.WriteTo(options, stream, contentOnly, cancellationToken);
                return;
            }
            if (!contentOnly)
                Headers.WriteTo(options, stream, cancellationToken);
            // The DKIM body hash canonicalizes a digest's shared runs once (DkimRelaxed).
            if (stream is IWireRunSink sink)
            {
                foreach (var run in _body.Runs)
                    sink.WriteRun(run);
                return;
            }
            foreach (var run in _body.Runs)
                stream.Write(run.Span);
        }

        public override async Task WriteToAsync(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
        {
            if (!Direct(options))
            {
                Materialize();
                await base.WriteToAsync(options, stream, contentOnly, cancellationToken);
                return;
            }
            if (!contentOnly)
                await Headers.WriteToAsync(options, stream, cancellationToken);
            foreach (var run in _body.Runs)
                await stream.WriteAsync(run, cancellationToken);
        }
    }

    /// <summary>A read-only, seekable stream over a body's runs.</summary>
    private sealed class RunsStream(WireBody body) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => body.Length;

        public override long Position
        {
            get => _position;
            set => _position = Math.Clamp(value, 0, body.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = 0;
            long start = 0;
            foreach (var run in body.Runs)
            {
                if (buffer.IsEmpty)
                    break;
                var end = start + run.Length;
                if (_position < end)
                {
                    var from = (int)(_position - start);
                    var n = Math.Min(run.Length - from, buffer.Length);
                    run.Span.Slice(from, n).CopyTo(buffer);
                    buffer = buffer[n..];
                    _position += n;
                    read += n;
                }
                start = end;
            }
            return read;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => body.Length + offset,
        };

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static TextPart Part(string subtype, byte[] utf8)
    {
        utf8 = WithoutControls(utf8);
        var part = new WrappedTextPart(subtype)
        {
            Content = new MimeContent(new MemoryStream(utf8, writable: false)),
            // RFC 5322 allows 998 octets per line. The renderer wraps at spaces, but a token
            // without one (a URL with a long query) or wide UTF-8 characters can pass that: such
            // a part goes quoted-printable, whose soft breaks keep the text intact.
            ContentTransferEncoding = MailLines.LongestLine(utf8) > MaxLineOctets ? ContentEncoding.QuotedPrintable : ContentEncoding.EightBit,
        };
        part.ContentType.Charset = "utf-8";
        return part;
    }

    /// <summary>A single message to one person (e.g. a confirmation request).</summary>
    public MimeMessage Build(string subject, string html, string text, string to, string messageId, DateTimeOffset date)
    {
        var from = options.Value.From;
        return new MimeMessage
        {
            // A fresh MailboxAddress per message: a shared instance subscribes every message to
            // its Changed event and keeps them all alive (PERFORMANCE-NOTES, trap 2).
            From = { new MailboxAddress(from.Name, from.Address) },
            To = { MailboxAddress.Parse(to) },
            Subject = subject,
            Date = date,
            MessageId = messageId.Trim('<', '>'),
            Body = new BodyBuilder { TextBody = text, HtmlBody = html }.ToMessageBody(),
        };
    }

    /// <summary>
    /// Body text whose lines the renderer has already wrapped below 998 characters: for an 8-bit
    /// relay there is nothing to choose, so MimeKit's scan of the whole body for the best encoding is
    /// skipped. A 7-bit-only relay still gets it re-encoded.
    /// </summary>
    private sealed class WrappedTextPart(string subtype) : TextPart(subtype)
    {
        public override void Prepare(EncodingConstraint constraint, int maxLineLength = 78)
        {
            if (constraint == EncodingConstraint.SevenBit)
                base.Prepare(constraint, maxLineLength);
        }
    }

    /// <summary>RFC 5322's limit on a line, without its CRLF.</summary>
    public const int MaxLineOctets = 998;

    // C0 controls other than tab, LF and CR, and DEL: a strict relay refuses a NUL outright.
    private static readonly SearchValues<byte> Controls = SearchValues.Create(
        [.. Enumerable.Range(0, 32).Where(b => b is not ('\t' or '\n' or '\r')).Select(b => (byte)b), (byte)0x7F]);

    /// <summary>The body with any stray control byte (e.g. a NUL from a feed) made a space; the same array when there is none.</summary>
    public static byte[] WithoutControls(byte[] utf8)
    {
        var first = utf8.AsSpan().IndexOfAny(Controls);
        if (first < 0)
            return utf8;
        var copy = (byte[])utf8.Clone();
        var rest = copy.AsSpan(first);
        for (var at = 0; at >= 0; at = rest.IndexOfAny(Controls))
        {
            rest[at] = (byte)' ';
            rest = rest[at..];
        }
        return copy;
    }


    private static string SafeListName(string name) =>
        "\"" + new string(name.Where(c => !char.IsControl(c) && c != '"' && c != '\\').ToArray()) + "\"";
}
