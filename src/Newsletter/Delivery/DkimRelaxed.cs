using System.Buffers;
using System.Security.Cryptography;
using MimeKit;

namespace Newsletter.Delivery;

/// <summary>
/// rsa-sha256 with relaxed/relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4), done in one pass
/// over the body with the platform's SHA-256 and RSA. It makes the very signature MimeKit's
/// <see cref="MimeKit.Cryptography.DkimSigner"/> makes (RSASSA-PKCS1-v1_5 is deterministic; a test
/// compares the two), about a fifth of the CPU: MimeKit writes the body through a byte-at-a-time
/// filter into BouncyCastle's managed SHA-256, which for a 60 KB digest cost more than building
/// and sending the whole message.
/// </summary>
internal sealed class DkimRelaxed(string domain, string selector, string[] signedHeaders, TimeProvider time, Func<RSA> rsa)
{
    private static readonly FormatOptions Wire = CreateWireFormat();

    private static FormatOptions CreateWireFormat()
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        options.EnsureNewLine = true;
        return options;
    }

    private readonly string[] _fields = signedHeaders.Select(h => h.ToLowerInvariant()).ToArray();

    public void Sign(MimeMessage message)
    {
        string bodyHash;
        using (var body = new RelaxedBodyHash())
        {
            message.Body?.WriteTo(Wire, body, contentOnly: true);
            bodyHash = Convert.ToBase64String(body.Finish());
        }
        var value = $"v=1; a=rsa-sha256; d={domain}; s={selector}; c=relaxed/relaxed; t={time.GetUtcNow().ToUnixTimeSeconds()}; h={string.Join(':', _fields)}; bh={bodyHash}; b=";
        var dkim = new Header(HeaderId.DkimSignature, value);
        using var headers = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new ArrayBufferWriter<byte>(1024);
        // Each signed field once, the last instance first (§5.4.2); a missing one adds nothing.
        var used = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var field in _fields)
        {
            var taken = used.GetValueOrDefault(field);
            // Content-* fields belong to the body entity; MimeKit writes them after the message's own.
            var block = field.StartsWith("content-", StringComparison.Ordinal) ? message.Body?.Headers ?? message.Headers : message.Headers;
            var instance = block.Where(h => h.Field.Equals(field, StringComparison.OrdinalIgnoreCase)).Reverse().Skip(taken).FirstOrDefault();
            used[field] = taken + 1;
            if (instance is null)
                continue;
            RelaxedHeader(buffer, field, instance.RawValue, crlf: true);
        }
        // The signature's own header as it will be written (folded), with b= empty, without its CRLF.
        RelaxedHeader(buffer, "dkim-signature", dkim.RawValue, crlf: false);
        headers.AppendData(buffer.WrittenSpan);
        var signature = rsa().SignHash(headers.GetHashAndReset(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        message.Headers.Insert(0, dkim);
        dkim.Value += Convert.ToBase64String(signature);
    }

    /// <summary>"name:value" lower-cased name, unfolded, runs of WSP as one SP, none at either end of the value (§3.4.2).</summary>
    private static void RelaxedHeader(ArrayBufferWriter<byte> output, string field, byte[] raw, bool crlf)
    {
        foreach (var c in field)
            output.Write([(byte)c]);
        output.Write([(byte)':']);
        var span = output.GetSpan(raw.Length + 2);
        var length = 0;
        var space = false;
        foreach (var b in raw)
        {
            if (b is (byte)'\r' or (byte)'\n')
                continue; // unfold
            if (b is (byte)' ' or (byte)'\t')
            {
                space = true;
                continue;
            }
            if (space && length > 0)
                span[length++] = (byte)' ';
            space = false;
            span[length++] = b;
        }
        if (crlf)
        {
            span[length++] = (byte)'\r';
            span[length++] = (byte)'\n';
        }
        output.Advance(length);
    }

    /// <summary>
    /// The body hash under relaxed canonicalization (§3.4.4), as a stream MimeKit writes the body
    /// into: runs of WSP become one SP, WSP at a line's end goes, empty lines at the end go, and a
    /// non-empty body ends in exactly one CRLF. Runs without whitespace or line ends are hashed whole.
    /// </summary>
    private sealed class RelaxedBodyHash : Stream
    {
        private static readonly SearchValues<byte> Special = SearchValues.Create(" \t\r\n"u8);
        private static readonly byte[] Crlf = "\r\n"u8.ToArray();
        private static readonly byte[] Space = " "u8.ToArray();
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private bool _pendingSpace, _pendingCr, _any;
        private int _pendingLines;
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _used;

        public byte[] Finish()
        {
            BareCr();
            if (_any)
                Append(Crlf);
            _hash.AppendData(_buffer.AsSpan(0, _used));
            _used = 0;
            return _hash.GetHashAndReset();
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!buffer.IsEmpty)
            {
                var at = buffer.IndexOfAny(Special);
                var run = at < 0 ? buffer : buffer[..at];
                if (!run.IsEmpty)
                {
                    BareCr();
                    Emit(run);
                }
                if (at < 0)
                    return;
                switch (buffer[at])
                {
                    case (byte)'\n' when _pendingCr:
                        _pendingCr = false;
                        _pendingSpace = false; // WSP before a line end is dropped
                        _pendingLines++;
                        break;
                    case (byte)'\n':
                        Emit("\n"u8); // a bare LF (the CRLF output has none) is content
                        break;
                    case (byte)'\r':
                        BareCr();
                        _pendingCr = true;
                        break;
                    default:
                        BareCr();
                        _pendingSpace = true;
                        break;
                }
                buffer = buffer[(at + 1)..];
            }
        }

        /// <summary>A CR not followed by LF is content.</summary>
        private void BareCr()
        {
            if (!_pendingCr)
                return;
            _pendingCr = false;
            Emit("\r"u8);
        }

        private void Emit(ReadOnlySpan<byte> bytes)
        {
            for (; _pendingLines > 0; _pendingLines--)
                Append(Crlf);
            if (_pendingSpace)
            {
                Append(Space);
                _pendingSpace = false;
            }
            Append(bytes);
            _any = true;
        }

        /// <summary>Gathers the canonical bytes: one hash call per word would cost more than the hashing.</summary>
        private void Append(ReadOnlySpan<byte> bytes)
        {
            if (_used + bytes.Length > _buffer.Length)
            {
                _hash.AppendData(_buffer.AsSpan(0, _used));
                _used = 0;
                if (bytes.Length > _buffer.Length)
                {
                    _hash.AppendData(bytes);
                    return;
                }
            }
            bytes.CopyTo(_buffer.AsSpan(_used));
            _used += bytes.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
