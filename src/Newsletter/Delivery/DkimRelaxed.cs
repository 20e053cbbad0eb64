using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MimeKit;

namespace Newsletter.Delivery;

/// <summary>
/// rsa-sha256 with relaxed/relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4), done in one pass
/// over the body with the platform's SHA-256 and RSA. It makes the very signature MimeKit's
/// <see cref="MimeKit.Cryptography.DkimSigner"/> makes (RSASSA-PKCS1-v1_5 is deterministic; a test
/// compares the two), about a fifth of the CPU: MimeKit writes the body through a byte-at-a-time
/// filter into BouncyCastle's managed SHA-256, which for a 60 KB digest cost more than building
/// and sending the whole message. The runs every reader of a digest shares are canonicalized once
/// (<see cref="IWireRunSink"/>): per message only the reader's own lines are scanned, and SHA-256 and
/// the RSA operation (a signature per message, over that reader's headers and body) remain.
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
    private sealed class RelaxedBodyHash : Stream, IWireRunSink
    {
        private static readonly SearchValues<byte> Special = SearchValues.Create(" \t\r\n"u8);
        private static readonly byte[] Crlf = "\r\n"u8.ToArray();
        private static readonly byte[] Space = " "u8.ToArray();

        /// <summary>Shared runs below this are scanned each time: a reader's own lines are short, a digest's shared runs kilobytes.</summary>
        private const int CachedRunMinimum = 1024;

        /// <summary>The canonical form of each shared run, for as long as its digest is alive (keyed by the run's own array, never written after it is made).</summary>
        private static readonly ConditionalWeakTable<byte[], CanonicalRun> Runs = new();

        private readonly IncrementalHash? _hash;
        private readonly ArrayBufferWriter<byte>? _collect;
        private bool _pendingSpace, _pendingCr, _any;
        private int _pendingLines;
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _used;

        public RelaxedBodyHash() => _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        /// <summary>Collects the canonical bytes instead of hashing them (a run's cached form).</summary>
        private RelaxedBodyHash(ArrayBufferWriter<byte> collect) => _collect = collect;

        /// <summary>
        /// A run written by a wire-ready part. A run that starts with a character other than WSP or a line end
        /// depends on what came before only through what is pending (a space, blank lines, a CR), which is
        /// written first, as <see cref="Emit"/> does; what it leaves pending at its end depends on the run alone.
        /// So its canonical bytes and end state are computed once, the second time the same run comes by
        /// (the first may be a reader's own), and copied after that.
        /// </summary>
        public void WriteRun(ReadOnlyMemory<byte> run)
        {
            if (run.Length < CachedRunMinimum || Special.Contains(run.Span[0])
                || !MemoryMarshal.TryGetArray(run, out var segment) || segment.Offset != 0 || segment.Count != segment.Array!.Length)
            {
                Write(run.Span);
                return;
            }
            var cached = Runs.GetValue(segment.Array, static _ => new CanonicalRun());
            var canonical = cached.Get(segment.Array);
            if (canonical is null)
            {
                Write(run.Span);
                return;
            }
            BareCr();
            Emit(canonical.Bytes);
            (_pendingSpace, _pendingCr, _pendingLines) = (canonical.PendingSpace, canonical.PendingCr, canonical.PendingLines);
        }

        private sealed class CanonicalRun
        {
            private int _seen;
            private volatile Canonical? _value;

            public Canonical? Get(byte[] run)
            {
                if (_value is { } value)
                    return value;
                if (Interlocked.Increment(ref _seen) < 2)
                    return null;
                var bytes = new ArrayBufferWriter<byte>(run.Length);
                var machine = new RelaxedBodyHash(bytes);
                machine.Write(run);
                return _value = new Canonical(bytes.WrittenSpan.ToArray(), machine._pendingSpace, machine._pendingCr, machine._pendingLines);
            }
        }

        private sealed record Canonical(byte[] Bytes, bool PendingSpace, bool PendingCr, int PendingLines);

        public byte[] Finish()
        {
            BareCr();
            if (_any)
                Append(Crlf);
            _hash!.AppendData(_buffer.AsSpan(0, _used));
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
            if (_collect is not null)
            {
                _collect.Write(bytes);
                return;
            }
            if (_used + bytes.Length > _buffer.Length)
            {
                _hash!.AppendData(_buffer.AsSpan(0, _used));
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
                _hash?.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>A stream that takes a wire-ready part's runs as runs (their identity lets it reuse work done for another reader of the same digest).</summary>
internal interface IWireRunSink
{
    void WriteRun(ReadOnlyMemory<byte> run);
}
