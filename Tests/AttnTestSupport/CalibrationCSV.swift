/// The columns of a calibration CSV (docs/data/README.md), shared by the calibration
/// file tests and the validate command's tests; a test appends its optional columns.
public enum CalibrationCSV {
    public static let header = "name,implementation,algorithm,batch,heads,kv_heads,q_len,kv_len,head_dim,causal,window,block_m,block_n,splits,dtype,backward,dram_read_bytes,dram_write_bytes,l2_read_bytes,l2_write_bytes,time_ms,kernels"
}
