using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Embedded.Rnn.Training;

/// <summary>
/// Reads a .gz file decompressed and, at its end, checks that the data read is what the file's last gzip member
/// says it holds: <see cref="GZipStream"/> throws on some damage but returns end-of-data quietly when the file is cut
/// inside a member, so a truncated file would read as a shorter, valid one. Any damage is an
/// <see cref="InvalidDataException"/>.
/// </summary>
/// <remarks>
/// A gzip member ends with an 8-byte trailer: the CRC-32 of its decompressed bytes and their count mod 2^32 (RFC 1952,
/// section 2.3.1). zlib checks that trailer when it reaches it, so the one case left is not reaching it: the file's
/// last 8 bytes are then compressed data, which matches the bytes read only by a 2^-64 chance. Earlier members of a
/// multi-member file (cat a.gz b.gz) were checked by zlib; only the last can be cut, so only its bytes (the last ISIZE
/// bytes read) are compared, by decompressing the file a second time when it holds more than one member.
/// </remarks>
internal sealed class GzipFileStream : Stream
{
    private const string Damaged = "the .gz file is truncated or damaged";
    private const string DamagedSentence = Damaged + ": it does not end with the CRC-32 and length of the data read.";

    private readonly string _path;
    private readonly GZipStream _gzip;
    private readonly Crc32 _crc = new();
    private long _length;
    private bool _checked;

    public GzipFileStream(string path)
    {
        _path = path;
        _gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _gzip.Read(buffer);
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"{Damaged}: {error.Message}", error);
        }

        if (read > 0)
        {
            _crc.Append(buffer[..read]);
            _length += read;
        }
        else if (buffer.Length > 0 && !_checked)
        {
            CheckTrailer();
            _checked = true;
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gzip.Dispose();
        }

        base.Dispose(disposing);
    }

    private void CheckTrailer()
    {
        Span<byte> trailer = stackalloc byte[8];
        using (var handle = File.OpenHandle(_path))
        {
            long size = RandomAccess.GetLength(handle);
            if (size < trailer.Length || RandomAccess.Read(handle, trailer, size - trailer.Length) != trailer.Length)
            {
                throw new InvalidDataException(DamagedSentence);
            }
        }

        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        uint memberLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        bool matches = (uint)_length == memberLength
            ? _crc.GetCurrentHashAsUInt32() == crc
            : _length > memberLength && LastBytesCrc(_length - memberLength) == crc;
        if (!matches)
        {
            throw new InvalidDataException(DamagedSentence);
        }
    }

    // The CRC-32 of the decompressed bytes after the first `skip` (the last member's, in a multi-member file).
    private uint LastBytesCrc(long skip)
    {
        using var gzip = new GZipStream(File.OpenRead(_path), CompressionMode.Decompress);
        var crc = new Crc32();
        var buffer = new byte[81920];
        int read;
        while ((read = gzip.Read(buffer)) > 0)
        {
            int start = (int)Math.Min(skip, read);
            crc.Append(buffer.AsSpan(start, read - start));
            skip -= start;
        }

        return crc.GetCurrentHashAsUInt32();
    }
}
