# PRN: PReNet without the recurrent (conv-LSTM) unit.
_base_ = './prenet_t6_b18-p100-100e_rain100l.py'
model = dict(generator=dict(recurrent=None))
