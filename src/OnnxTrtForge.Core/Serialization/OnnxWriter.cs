using Google.Protobuf;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Serialization.Proto;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>
/// Saves the IR as ONNX. Payload bytes are streamed from wherever they live (the source file's map,
/// external files, managed arrays) into the output, never gathered in memory. The model (and its
/// .data file) are written to temporary files and renamed into place, so a failure leaves nothing.
/// </summary>
public static class OnnxWriter
{
    public static SaveResult Save(Model model, string path, SaveOptions? options = null)
    {
        options ??= new SaveOptions();
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var weightBytes = model.Graph.Initializers.Sum(v => v.Initializer!.ByteLength);
        var external = options.ExternalData switch
        {
            ExternalDataMode.Always => true,
            ExternalDataMode.Never => false,
            _ => weightBytes > options.AutoLimit,
        };

        var dataName = Path.GetFileName(full) + ".data";
        var dataPath = Path.Combine(folder, dataName);
        var tempModel = AtomicFile.TempPathFor(full);
        var tempData = external ? AtomicFile.TempPathFor(dataPath) : null;
        try
        {
            var proto = IrToProto.ToModelProto(model);
            var initializers = model.Graph.Initializers.Select(v => v.Initializer!).ToList();
            long dataBytes = 0;
            var externalCount = 0;
            if (external)
            {
                (dataBytes, externalCount) = WriteExternal(proto, initializers, tempData!, dataName, options);
                using var stream = new FileStream(tempModel, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                proto.WriteTo(stream);
            }
            else
            {
                WriteEmbedded(proto, initializers, tempModel, options.Progress);
            }

            // An embedded save leaves any OUT.data alone: this invocation did not write it, and another model may use it.
            if (tempData is not null)
            {
                File.Move(tempData, dataPath, overwrite: true);
            }

            File.Move(tempModel, full, overwrite: true);
            return new SaveResult(full, external ? dataPath : null, new FileInfo(full).Length, dataBytes, externalCount);
        }
        catch
        {
            TryDelete(tempModel);
            if (tempData is not null)
            {
                TryDelete(tempData);
            }

            throw;
        }
    }

    /// <summary>Writes one tensor as a serialized TensorProto with raw_data (the ONNX test-data .pb format), atomically.</summary>
    public static void SaveTensor(Tensor tensor, string path) =>
        Reports.AtomicFile.WriteAllBytes(path, IrToProto.ToTensorProto(tensor, withData: true).ToByteArray());

    /// <summary>Writes the large initializers to the .data file and the rest into the proto; returns bytes and count.</summary>
    private static (long Bytes, int Count) WriteExternal(ModelProto proto, List<Tensor> initializers, string dataPath, string dataName, SaveOptions options)
    {
        using var data = new FileStream(dataPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        var count = 0;
        foreach (var tensor in initializers)
        {
            if (tensor.Type == DataType.String || tensor.ByteLength < options.ExternalThreshold)
            {
                proto.Graph.Initializer.Add(IrToProto.ToTensorProto(tensor, withData: true));
                continue;
            }

            var pad = (options.Alignment - (data.Position % options.Alignment)) % options.Alignment;
            if (pad > 0)
            {
                data.Write(new byte[pad]);
            }

            var offset = data.Position;
            tensor.Data.CopyTo(data);
            options.Progress?.Report(data.Position);
            var tp = IrToProto.ToTensorProto(tensor, withData: false);
            tp.DataLocation = TensorProto.Types.DataLocation.External;
            tp.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
            tp.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tp.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.ByteLength.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            proto.Graph.Initializer.Add(tp);
            count++;
        }

        return (data.Length, count);
    }

    /// <summary>
    /// Writes the model with every initializer embedded. The graph field is assembled by hand: the
    /// graph's small part is serialized normally, then each initializer's header, then its payload
    /// streamed as a raw_data field. Lengths are known up front, so nothing is buffered.
    /// </summary>
    private static void WriteEmbedded(ModelProto proto, List<Tensor> initializers, string path, IProgress<long>? progress)
    {
        var graph = proto.Graph;
        proto.Graph = null;
        var graphHead = graph.ToByteArray();
        var headers = new List<(byte[] Header, Tensor Tensor, long PayloadLength, long MessageLength)>(initializers.Count);
        long graphLength = graphHead.Length;
        foreach (var tensor in initializers)
        {
            var withPayload = tensor.Type != DataType.String;
            var header = IrToProto.ToTensorProto(tensor, withData: !withPayload).ToByteArray();
            long payload = withPayload ? tensor.ByteLength : 0;
            long message = header.Length + (withPayload ? 1 + StrippedModel.VarintSize((ulong)payload) + payload : 0);
            headers.Add((header, tensor, withPayload ? payload : -1, message));
            graphLength += 1 + StrippedModel.VarintSize((ulong)message) + message;
        }

        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        proto.WriteTo(stream);
        StrippedModel.WriteTag(stream, 7, 2);
        StrippedModel.WriteVarint(stream, (ulong)graphLength);
        stream.Write(graphHead);
        foreach (var (header, tensor, payload, message) in headers)
        {
            StrippedModel.WriteTag(stream, 5, 2);
            StrippedModel.WriteVarint(stream, (ulong)message);
            stream.Write(header);
            if (payload >= 0)
            {
                StrippedModel.WriteTag(stream, 9, 2);
                StrippedModel.WriteVarint(stream, (ulong)payload);
                tensor.Data.CopyTo(stream);
                progress?.Report(stream.Position);
            }
        }

        proto.Graph = graph;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
