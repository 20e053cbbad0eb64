using System.Runtime.InteropServices;

namespace Newsletter.Storage;

/// <summary>
/// A file's device and inode: what a path points at. A backup restored by <c>mv copy db</c> gives
/// the path a new inode while SQLite's open handles keep writing to the old, unlinked one, and a
/// byte-for-byte copy carries the same <c>database_id</c>, so only this tells the two apart.
/// Linux <c>statx(2)</c>, whose layout (unlike <c>struct stat</c>) is the same on every
/// architecture; elsewhere, or when the call fails, null (the check is skipped).
/// </summary>
internal static class FileIdentity
{
    private const int AtFdCwd = -100;
    private const uint StatxIno = 0x100;

    [DllImport("libc", EntryPoint = "statx")]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    public static (ulong Device, ulong Inode)? Of(string path)
    {
        if (!OperatingSystem.IsLinux())
            return null;
        var buffer = new byte[256];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxIno, buffer) != 0)
                return null;
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        // struct statx: stx_ino at 32; stx_dev_major / stx_dev_minor (u32 each) at 136 / 140.
        var inode = BitConverter.ToUInt64(buffer, 32);
        var device = ((ulong)BitConverter.ToUInt32(buffer, 136) << 32) | BitConverter.ToUInt32(buffer, 140);
        return (device, inode);
    }
}
