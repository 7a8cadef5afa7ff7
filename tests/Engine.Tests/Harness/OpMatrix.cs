namespace Dsoup.Engine.Tests.Harness;

/// <summary>Every (op, device, dtype) combination a theory runs.</summary>
public static class OpMatrix
{
    public static TheoryData<string, string, DType> Of(IEnumerable<OpCase> cases)
    {
        var data = new TheoryData<string, string, DType>();
        foreach (OpCase op in cases)
        {
            foreach (string device in OpHarness.Devices)
            {
                foreach (DType dtype in DTypeInfo.All)
                {
                    data.Add(op.Name, device, dtype);
                }
            }
        }
        return data;
    }
}
