using System.Reflection;
using Dsoup.Kernels.Gpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;

namespace Dsoup.Engine.Tests;

/// <summary>
/// Compiles every GPU kernel, in every dtype instantiation, to PTX for sm_90 without a GPU, so a
/// construct the CUDA backend cannot translate fails here rather than on a user's machine.
/// </summary>
public class PtxCompilationTests
{
    [Fact]
    public void EveryKernelCompilesToPtxWithoutUnresolvedCalls()
    {
        using var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        var compiled = new List<string>();
        foreach (MethodInfo kernel in GpuKernelCatalog.Instantiations())
        {
            var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
            var result = (PTXCompiledKernel)backend.Compile(entry, default);
            Assert.False(result.PTXAssembly.Contains(".extern .func", StringComparison.Ordinal),
                $"{kernel} calls a function PTX cannot resolve:\n{result.PTXAssembly}");
            compiled.Add($"{kernel.DeclaringType!.Name}.{kernel.Name}");
        }
        foreach (string expected in new[] { "GemmKernels.Gemm", "TensorCoreGemmKernels.Gemm", "TensorCoreConvolutionKernels.Forward", "TensorCoreConvolutionKernels.BackwardInput", "TensorCoreConvolutionKernels.BackwardWeight", "TensorCoreAttentionKernels.Forward", "TensorCoreAttentionBackwardKernels.Query", "TensorCoreAttentionBackwardKernels.KeyValue", "ReductionKernels.SumAxisPerGroup", "ElementwiseKernels.Convert", "RandomKernels.Uniform", "TiesKernels.Merge", "TiesKernels.KeyHistogram",
            "ActivationKernels.Activate", "ActivationKernels.ActivateBackward", "SoftmaxKernels.Softmax", "SoftmaxKernels.SoftmaxBackward",
            "NormKernels.Normalize", "NormKernels.NormalizeBackwardInput", "NormKernels.NormalizeBackwardParameters",
            "LayoutKernels.CopyAxis", "LayoutKernels.SwapAxes", "LayoutKernels.Upsample", "LayoutKernels.UpsampleBackward",
            "ConvolutionKernels.Forward", "ConvolutionKernels.BackwardInput", "ConvolutionKernels.BackwardWeight", "OptimizerKernels.AdamW", "OptimizerKernels.PrepareStep" })
        {
            Assert.Contains(expected, compiled);
        }
        Assert.Equal(9, compiled.Count(name => name == "ElementwiseKernels.Convert"));
    }

    [Theory]
    [InlineData(typeof(ILGPU.Half), typeof(F16Element), "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32")]
    [InlineData(typeof(ushort), typeof(BF16Element), "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32")]
    public void TensorCoreGemmIssuesMmaForItsDType(Type storage, Type element, string instruction)
    {
        using var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        MethodInfo kernel = typeof(Dsoup.Kernels.Gpu.Kernels.TensorCoreGemmKernels).GetMethod("Gemm")!.MakeGenericMethod(storage, element);
        string ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(kernel), default)).PTXAssembly;
        // 8 MMAs per 16-deep slice (a 32×32 warp tile), the loop over slices not unrolled. The emulation stays
        // in the PTX as dead code behind a constant-true predicate (ILGPU lowers CudaAsm.IsSupported late); ptxas drops it.
        Assert.Equal(8, ptx.Split(instruction).Length - 1);
        Assert.Contains(".target sm_80", ptx);
    }

    [Fact]
    public void EveryTensorCoreKernelIsInstantiatedForTheSixteenBitTypesOnlyAndIssuesMma()
    {
        using var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        var kernels = GpuKernelCatalog.Instantiations().Where(m => m.DeclaringType!.Name.StartsWith("TensorCore", StringComparison.Ordinal)).ToList();
        Assert.Equal(14, kernels.Count); // GEMM, three convolutions, attention forward and its two backward kernels: f16 and bf16 each
        foreach (MethodInfo kernel in kernels)
        {
            Type storage = kernel.GetGenericArguments()[0];
            Assert.Contains(storage, new[] { typeof(ILGPU.Half), typeof(ushort) });
            string ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(kernel), default)).PTXAssembly;
            string type = storage == typeof(ushort) ? "bf16" : "f16";
            Assert.Contains($"mma.sync.aligned.m16n8k16.row.col.f32.{type}.{type}.f32", ptx);
        }
    }

    [Fact]
    public void EveryKernelShapedMethodIsInTheCatalog()
    {
        // A public static method taking an ArrayView in the kernel namespace is a kernel: it must be marked.
        var unmarked = typeof(GpuKernelCatalog).Assembly.GetTypes()
            .Where(t => t.Namespace == "Dsoup.Kernels.Gpu.Kernels")
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.GetParameters().Any(p => p.ParameterType.IsGenericType && p.ParameterType.GetGenericTypeDefinition() == typeof(ArrayView<>)))
            .Where(m => m.GetCustomAttribute<GpuKernelAttribute>() is null)
            .Select(m => m.Name)
            .ToList();
        Assert.Empty(unmarked);
    }
}
